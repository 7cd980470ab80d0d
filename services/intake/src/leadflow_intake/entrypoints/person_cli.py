"""`leadflow person export EMAIL`: gather what each service holds about a person into one JSON document."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import typer

app = typer.Typer(help="a person's data (GDPR)", no_args_is_help=True, add_completion=False)

SERVICES = ("intake", "qualification", "opportunity", "nurture")


def gather(urls: dict[str, str], token: str, email: str) -> dict[str, Any]:
    """Ask each service for its part of the person's data; raise RuntimeError naming a service that fails."""
    parts: dict[str, Any] = {}
    for service, url in urls.items():
        try:
            response = httpx.get(
                f"{url}/v1/people/export",
                params={"email": email},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        except httpx.HTTPError as error:
            raise RuntimeError(f"{service} at {url} did not answer: {error}") from error
        if response.status_code != 200:
            raise RuntimeError(f"{service} answered {response.status_code}: {response.text}")
        parts[service] = response.json()
    return {"email": email, "exported_at": datetime.now(UTC).isoformat(), "services": parts}


@app.command("export")
def export(
    email: Annotated[str, typer.Argument(help="the person's email address")],
    intake: Annotated[str, typer.Option(envvar="LEADFLOW_INTAKE_URL")] = "http://127.0.0.1:8001",
    qualification: Annotated[
        str, typer.Option(envvar="LEADFLOW_QUALIFICATION_URL")
    ] = "http://127.0.0.1:8002",
    opportunity: Annotated[str, typer.Option(envvar="LEADFLOW_OPPORTUNITY_URL")] = "http://127.0.0.1:8003",
    nurture: Annotated[str, typer.Option(envvar="LEADFLOW_NURTURE_URL")] = "http://127.0.0.1:8004",
    token: Annotated[str, typer.Option(envvar="LEADFLOW_TOKEN", help="a bearer token with admin scope")] = "",
) -> None:
    """Print one JSON document with everything the four services hold about EMAIL (art. 15/20)."""
    urls = dict(zip(SERVICES, (intake, qualification, opportunity, nurture), strict=True))
    try:
        document = gather(urls, token or os.environ.get("LEADFLOW_API_TOKEN", ""), email)
    except RuntimeError as error:
        typer.echo(f"export failed: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
