"""The command line every service has: `serve` and `migrate`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

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

    # The options let one image serve any of the services: its command says where to listen (0.0.0.0,
    # the port it was built for) without naming the service's own variables, whose prefix differs.
    @app.command("serve")
    def serve_command(
        host: Annotated[
            str | None,
            typer.Option(help="Address to listen on, instead of <SVC>_HTTP_HOST.", show_default=False),
        ] = None,
        port: Annotated[
            int | None,
            typer.Option(
                min=1, max=65535, help="Port to listen on, instead of <SVC>_HTTP_PORT.", show_default=False
            ),
        ] = None,
    ) -> None:
        """Run the service (HTTP API, consumers, outbox relay) until SIGTERM."""
        settings = settings_cls.load_or_exit()
        given = {"http_host": host, "http_port": port}
        overrides = {field: value for field, value in given.items() if value is not None}
        serve(definition(settings.model_copy(update=overrides) if overrides else settings))

    @app.command("migrate")
    def migrate_command(revision: str = "head") -> None:
        """Migrate the service's own schema."""
        settings = settings_cls.load_or_exit()
        migrations.upgrade(migrations_dir, settings.database_url, settings.db_schema, revision)
        typer.echo(f"{name}: schema {settings.db_schema} migrated to {revision}")

    return app
