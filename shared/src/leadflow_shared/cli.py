"""The command line every service has: `serve` and `migrate`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

from leadflow_shared import migrations
from leadflow_shared.runtime import ServiceDefinition, serve
from leadflow_shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def make_cli(
    name: str,
    settings_cls: type[S],
    definition: Callable[[S], ServiceDefinition],
    migrations_dir: Path,
) -> typer.Typer:
    """Build the typer app of one service, whose definition takes the service's own settings."""
    app = typer.Typer(name=f"leadflow-{name}", help=f"The leadflow {name} service.", no_args_is_help=True)

    @app.command("serve")
    def serve_command() -> None:
        """Run the service (HTTP API, consumers, outbox relay) until SIGTERM."""
        serve(definition(settings_cls.load_or_exit()))

    @app.command("migrate")
    def migrate_command(revision: str = "head") -> None:
        """Migrate the service's own schema."""
        settings = settings_cls.load_or_exit()
        migrations.upgrade(migrations_dir, settings.database_url, settings.db_schema, revision)
        typer.echo(f"{name}: schema {settings.db_schema} migrated to {revision}")

    return app
