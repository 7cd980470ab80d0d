"""`leadflow-intake serve | migrate`."""

from __future__ import annotations

from leadflow_intake.bootstrap import MIGRATIONS, definition
from leadflow_intake.settings import IntakeSettings
from leadflow_shared.cli import make_cli

app = make_cli("intake", IntakeSettings, definition, MIGRATIONS)


def main() -> None:
    """Run the command line."""
    app()
