"""Composition root of qualification."""

from __future__ import annotations

from pathlib import Path

from leadflow_qualification.entrypoints import consumers, export, http
from leadflow_qualification.settings import QualificationSettings
from leadflow_qualification.use_cases.config import ConfigStore
from leadflow_qualification.use_cases.funnel_cells import cells_keeper
from leadflow_qualification.use_cases.staleness import sweeper
from leadflow_shared.runtime import ServiceDefinition
from leadflow_shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def definition(settings: ServiceSettings) -> ServiceDefinition:
    """Wire qualification's subscriptions, routes, the staleness sweep and the funnel cells' keeper."""
    own = settings if isinstance(settings, QualificationSettings) else QualificationSettings.model_construct()
    store = ConfigStore()
    return ServiceDefinition(
        title="leadflow qualification",
        description="Judges each lead by the organisation's own criteria and owns its status.",
        settings=settings,
        subscriptions=consumers.subscriptions(store),
        routers=[http.router, export.router],
        background=[
            sweeper(own.sweep_interval_s, store),
            cells_keeper(
                own.funnel_refresh_interval_s,
                own.funnel_refresh_days,
                own.funnel_refresh_nodes,
                own.funnel_settle_s,
            ),
        ],
        state={"config": store},
    )
