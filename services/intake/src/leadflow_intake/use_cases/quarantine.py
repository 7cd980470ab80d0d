"""Keep what cannot become a lead (or a lead's activity), with its reason, and count it."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4, uuid5

from prometheus_client import Counter

from leadflow_intake.adapters import repository as repo
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.uow import UnitOfWork

QUARANTINE_NAMESPACE = UUID("6f1d3c1e-9d0a-4b44-8a55-3a0e5f4c9b10")
REJECTIONS = Counter("leadflow_intake_rejections_total", "Submissions kept in quarantine", ["source"])


async def quarantine(
    uow: UnitOfWork,
    source: str,
    reason: str,
    payload: Any,
    *,
    causation: Envelope | None,
    part: str = "",
    problems: list[dict[str, str]] | None = None,
) -> UUID:
    """Store a rejection; its id derives from the causing event, so a replay stores it once."""
    rejection_id = uuid5(QUARANTINE_NAMESPACE, f"{causation.id}{part}") if causation is not None else uuid4()
    await repo.quarantine(uow.conn, rejection_id, source, reason, problems or [], payload)
    REJECTIONS.labels(source).inc()
    return rejection_id
