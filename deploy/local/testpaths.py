"""Print the pytest paths for `make test`: the root pyproject's testpaths plus the devstack's own."""

from __future__ import annotations

import tomllib
from pathlib import Path

root = Path(__file__).resolve().parents[2]
options = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
paths = dict.fromkeys([*options["testpaths"], "deploy/local/tests"])
print(" ".join(p for p in paths if (root / p).exists()))
