"""`leadflow-stack`: bring the local stack up and down, and say what runs."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadflow_devstack import stack
from leadflow_devstack.env import SERVICES, api_token, ensure_env, export_lines
from leadflow_devstack.paths import default_paths
from leadflow_devstack.postgres import render_init_sql
from leadflow_devstack.procs import StackError

app = typer.Typer(help="The local leadflow stack without Docker.", no_args_is_help=True, add_completion=False)
console = Console(stderr=True)


def _say(message: str) -> None:
    console.print(message, highlight=False)


def _run(action: str, body: typer.models.CommandFunctionType) -> None:
    started = time.monotonic()
    try:
        body()
    except StackError as error:
        console.print(f"[red]{action} failed:[/red] {error}", highlight=False)
        raise typer.Exit(1) from error
    _say(f"{action}: done in {time.monotonic() - started:.1f} s")


@app.command()
def infra() -> None:
    """Kafka + PostgreSQL + roles and schemas + topics (no services)."""
    _run("infra", lambda: stack.infra(default_paths(), _say))


@app.command()
def up() -> None:
    """Infra, migrations, the four services and the web console, then a summary."""
    paths = default_paths()

    def body() -> None:
        env = stack.up(paths, _say)
        _say("leadflow local stack:")
        _say(f"  kafka          {env['KAFKA_BOOTSTRAP_SERVERS']}  log {paths.log('kafka')}")
        _say("  postgres       127.0.0.1:5432/leadflow  log /var/log/postgresql/")
        for service in SERVICES:
            _say(
                f"  {service.name:<14} {service.base_url}  docs {service.base_url}/docs  "
                f"log {paths.log(service.name)}"
            )
        _say(f"  console        {stack.console_url()}  log {paths.log('console')}")
        _say(f"API token: {api_token(env)}  (also in {paths.token_file}; env contract in {paths.env_file})")
        _say(f"Open {stack.console_url()} and paste the API token to sign in to the console.")

    _run("up", body)


@app.command()
def down(
    postgres: Annotated[bool, typer.Option("--postgres", help="Stop the PostgreSQL cluster too.")] = False,
) -> None:
    """Stop the console and the services, then Kafka (PostgreSQL stays up unless --postgres)."""
    _run("down", lambda: stack.down(default_paths(), _say, postgres_too=postgres))


@app.command()
def status() -> None:
    """Which components run: pid, port, readiness."""
    rows = stack.status(default_paths())
    table = Table(title="leadflow local stack")
    for column in ("component", "pid", "address", "answering", "ready", "log"):
        table.add_column(column)
    for row in rows:
        ready = "-" if row.ready is None else ("yes" if row.ready else "no")
        table.add_row(
            row.name,
            str(row.pid or "-"),
            row.address,
            "yes" if row.answering else "no",
            ready,
            row.log,
        )
    Console().print(table)


@app.command()
def env(
    export: Annotated[
        bool, typer.Option("--export", help="Print shell-quoted `export` lines to eval.")
    ] = False,
) -> None:
    """Print the environment contract (generating it on first use)."""
    contract = ensure_env(default_paths())
    if export:
        sys.stdout.write(export_lines(contract))
    else:
        sys.stdout.write("".join(f"{key}={value}\n" for key, value in contract.items()))


@app.command("init-sql")
def init_sql() -> None:
    """Print deploy/postgres/init.sql (the provisioning SQL with the Docker development passwords)."""
    sys.stdout.write(render_init_sql("leadflow", DOCKER_PASSWORDS))


DOCKER_PASSWORDS: dict[str, str] = {s.name: f"{s.name}-dev-password" for s in SERVICES}


def main() -> None:
    """Entry point of the `leadflow-stack` console script."""
    app()
