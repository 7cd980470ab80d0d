"""Composition root of qualification."""

from __future__ import annotations

from pathlib import Path

from leadflow_qualification.entrypoints import consumers, export, http
from leadflow_qualification.settings import QualificationSettings
from leadflow_qualification.use_cases.config import ConfigStore
from leadflow_qualification.use_cases.funnel_cells import cells_keeper
from leadflow_qualification.use_cases.staleness import sweeper
from leadflow_shared.runtime import ServiceDefinition

MIGRATIONS = Path(__file__).parent / "migrations"


def definition(settings: QualificationSettings) -> ServiceDefinition:
    """Wire qualification's subscriptions, routes, the staleness sweep and the funnel cells' keeper."""

    store = ConfigStore()
    return ServiceDefinition(
        title="leadflow qualification",
        description="Judges each lead by the organisation's own criteria and owns its status.",
        settings=settings,
        subscriptions=consumers.subscriptions(store),
        routers=[http.router, export.router],
        background=[
            sweeper(settings.sweep_interval_s, store),
            cells_keeper(
                settings.funnel_refresh_interval_s,
                settings.funnel_refresh_days,
                settings.funnel_refresh_nodes,
                settings.funnel_settle_s,
            ),
        ],
        state={"config": store},
    )
