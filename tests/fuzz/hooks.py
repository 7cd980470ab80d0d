"""Schemathesis hooks for the fuzz tier: count every request it sends, by operation and status."""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import schemathesis

# The file the counts go to when the run ends; the fuzz test reads it.
COUNTS_FILE_ENV = "LEADFLOW_FUZZ_COUNTS_FILE"

_lock = threading.Lock()
_answered: Counter[tuple[str, int]] = Counter()
_unanswered: Counter[str] = Counter()


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """One answered request of an operation."""
    with _lock:
        _answered[(f"{case.method} {case.path}", response.status_code)] += 1


@schemathesis.hook
def after_network_error(context: Any, case: Any, request: Any) -> None:
    """One request that got no answer (timeout, refused connection)."""
    with _lock:
        _unanswered[f"{case.method} {case.path}"] += 1


def _write() -> None:
    target = os.environ.get(COUNTS_FILE_ENV)
    if not target:
        return
    with _lock:
        answered = sorted(_answered.items())
        counts = {
            "answered": [{"operation": op, "status": status, "count": n} for (op, status), n in answered],
            "unanswered": dict(sorted(_unanswered.items())),
        }
    Path(target).write_text(json.dumps(counts, indent=1))


atexit.register(_write)
