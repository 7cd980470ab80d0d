"""Composition root of intake."""

from __future__ import annotations

from pathlib import Path

from leadflow_intake.entrypoints import consumers, http
from leadflow_intake.settings import IntakeSettings
from leadflow_shared.runtime import ServiceDefinition
from leadflow_shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def definition(settings: ServiceSettings) -> ServiceDefinition:
    """Wire intake's subscriptions and routes."""
    assert isinstance(settings, IntakeSettings)
    return ServiceDefinition(
        title="leadflow intake",
        description="Captures every lead from every source, normalises it, merges duplicates.",
        settings=settings,
        subscriptions=consumers.subscriptions(),
        routers=[http.router],
    )
