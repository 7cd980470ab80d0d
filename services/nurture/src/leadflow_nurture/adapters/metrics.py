"""Nurture's own Prometheus metrics: what became of the emails the scheduler could not send."""

from __future__ import annotations

from prometheus_client import Counter

TOUCHES_FAILED = Counter(
    "leadflow_nurture_touches_failed_total",
    "Touches given up on, by kind (unsendable, refused, undeliverable, transient after the last retry)",
    ["kind"],
)
SEND_RETRIES = Counter(
    "leadflow_nurture_send_retries_total", "Touches whose email was not sent and is tried again later"
)
