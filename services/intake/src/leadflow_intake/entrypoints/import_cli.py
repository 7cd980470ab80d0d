"""`leadflow import FILE.csv`: upload a CSV to intake and follow its progress."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from leadflow_intake.entrypoints import person_cli

app = typer.Typer(help="leadflow command line", no_args_is_help=True, add_completion=False)
app.add_typer(person_cli.app, name="person")
console = Console()


@app.callback()
def main_callback() -> None:
    """leadflow command line."""


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="the CSV file")],
    url: Annotated[str, typer.Option(envvar="LEADFLOW_INTAKE_URL")] = "http://127.0.0.1:8001",
    token: Annotated[str, typer.Option(envvar="LEADFLOW_TOKEN", help="a bearer token with write scope")] = "",
    channel: Annotated[str, typer.Option(help="trade_show, import, webinar, ...")] = "trade_show",
    campaign: Annotated[str | None, typer.Option(help="campaign name for attribution")] = None,
    poll: Annotated[float, typer.Option(help="seconds between progress checks")] = 0.5,
) -> None:
    """Upload FILE.csv, show a progress bar until every row is submitted, then list the bad rows."""
    headers = {"Authorization": f"Bearer {token or os.environ.get('LEADFLOW_API_TOKEN', '')}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        data = {"channel": channel, **({"campaign_name": campaign} if campaign else {})}
        with file.open("rb") as handle:
            response = client.post("/v1/imports", files={"file": (file.name, handle, "text/csv")}, data=data)
        if response.status_code != 202:
            console.print(f"[red]upload refused ({response.status_code}):[/red] {response.text}")
            raise typer.Exit(1)
        import_id = response.json()["id"]
        console.print(f"import {import_id} accepted")
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("rows", total=None)
            while True:
                status = client.get(f"/v1/imports/{import_id}").json()
                progress.update(task, total=status["rows_total"], completed=status["rows_done"])
                if status["status"] in ("completed", "failed"):
                    break
                time.sleep(poll)
        final = client.get(f"/v1/imports/{import_id}", params={"errors_limit": 1000}).json()
    if final["status"] == "failed":
        console.print(f"[red]import failed:[/red] {final['error']}")
        raise typer.Exit(1)
    console.print(
        f"{final['leads_submitted']} leads submitted, {final['rows_failed']} rows failed,"
        f" {final['leads_captured']} captured so far"
    )
    for error in final["errors"]:
        console.print(f"  row {error['row_number']}: {error['message']}")


def main() -> None:
    """Entry point of the `leadflow` console script."""
    app()
