"""Composition root of qualification."""

from __future__ import annotations

from pathlib import Path

from leadflow_qualification.entrypoints import consumers, http
from leadflow_qualification.settings import QualificationSettings
from leadflow_qualification.use_cases.staleness import sweeper
from leadflow_shared.runtime import ServiceDefinition
from leadflow_shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def definition(settings: ServiceSettings) -> ServiceDefinition:
    """Wire qualification's subscriptions, routes and the staleness sweep."""
    interval = settings.sweep_interval_s if isinstance(settings, QualificationSettings) else 30.0
    return ServiceDefinition(
        title="leadflow qualification",
        description="Judges each lead by the organisation's own criteria and owns its status.",
        settings=settings,
        subscriptions=consumers.subscriptions(),
        routers=[http.router],
        background=[sweeper(interval)],
    )
