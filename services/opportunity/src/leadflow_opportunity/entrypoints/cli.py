"""`leadflow-opportunity serve | migrate`."""

from __future__ import annotations

from leadflow_opportunity.bootstrap import MIGRATIONS, definition
from leadflow_opportunity.settings import OpportunitySettings
from leadflow_shared.cli import make_cli

app = make_cli("opportunity", OpportunitySettings, definition, MIGRATIONS)


def main() -> None:
    """Run the command line."""
    app()
