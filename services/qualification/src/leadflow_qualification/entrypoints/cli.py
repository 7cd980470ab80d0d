"""`leadflow-qualification serve | migrate`."""

from __future__ import annotations

from leadflow_qualification.bootstrap import MIGRATIONS, definition
from leadflow_qualification.settings import QualificationSettings
from leadflow_shared.cli import make_cli

app = make_cli("qualification", QualificationSettings, definition, MIGRATIONS)


def main() -> None:
    """Run the command line."""
    app()
