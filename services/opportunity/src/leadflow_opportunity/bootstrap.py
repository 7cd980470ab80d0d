"""Composition root of opportunity."""

from __future__ import annotations

from pathlib import Path

from leadflow_opportunity.adapters import reports
from leadflow_opportunity.adapters.config_store import ConfigStore
from leadflow_opportunity.entrypoints import consumers, export, http
from leadflow_opportunity.settings import OpportunitySettings
from leadflow_shared.runtime import ServiceDefinition
from leadflow_shared.totals import folder

MIGRATIONS = Path(__file__).parent / "migrations"


def definition(settings: OpportunitySettings) -> ServiceDefinition:
    """Wire opportunity's subscriptions, routes and the job that folds the report totals."""
    store = ConfigStore()
    return ServiceDefinition(
        title="leadflow opportunity",
        description=(
            "Converts qualified leads into accounts, contacts and opportunities; carries them to won or lost."
        ),
        settings=settings,
        subscriptions=consumers.subscriptions(store),
        routers=[http.router, export.router],
        background=[folder(reports.TOTALS)],
        state={"config": store},
    )
