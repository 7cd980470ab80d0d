"""Composition root of nurture."""

from __future__ import annotations

from pathlib import Path

from leadflow_nurture.entrypoints import consumers, http
from leadflow_shared.runtime import ServiceDefinition
from leadflow_shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def definition(settings: ServiceSettings) -> ServiceDefinition:
    """Wire nurture's subscriptions and routes."""
    return ServiceDefinition(
        title="leadflow nurture",
        description=(
            "Puts every unqualified lead on a nurture path and brings it back when its situation changes."
        ),
        settings=settings,
        subscriptions=consumers.subscriptions(),
        routers=[http.router],
    )
