"""`leadflow-nurture serve | migrate`."""

from __future__ import annotations

from leadflow_nurture.bootstrap import MIGRATIONS, definition
from leadflow_nurture.settings import NurtureSettings
from leadflow_shared.cli import make_cli

app = make_cli("nurture", NurtureSettings, definition, MIGRATIONS)


def main() -> None:
    """Run the command line."""
    app()
