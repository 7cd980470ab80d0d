"""Composition root of opportunity."""

from __future__ import annotations

from pathlib import Path

from leadflow_opportunity.entrypoints import consumers, http
from leadflow_shared.runtime import ServiceDefinition
from leadflow_shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def definition(settings: ServiceSettings) -> ServiceDefinition:
    """Wire opportunity's subscriptions and routes."""
    return ServiceDefinition(
        title="leadflow opportunity",
        description=(
            "Converts qualified leads into accounts, contacts and opportunities; carries them to won or lost."
        ),
        settings=settings,
        subscriptions=consumers.subscriptions(),
        routers=[http.router],
    )
