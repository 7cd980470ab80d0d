"""Composition root of qualification."""

from __future__ import annotations

from pathlib import Path

from leadflow_qualification.entrypoints import consumers, http
from leadflow_shared.runtime import ServiceDefinition
from leadflow_shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def definition(settings: ServiceSettings) -> ServiceDefinition:
    """Wire qualification's subscriptions and routes."""
    return ServiceDefinition(
        title="leadflow qualification",
        description="Judges each lead by the organisation's own criteria and owns its status.",
        settings=settings,
        subscriptions=consumers.subscriptions(),
        routers=[http.router],
    )
