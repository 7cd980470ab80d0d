"""Keep what cannot become a lead (or a lead's activity), with its reason, and count it."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4, uuid5

from aiokafka import ConsumerRecord
from prometheus_client import Counter

from leadflow_intake.adapters import repository as repo
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.storable import storable_copy
from leadflow_shared.uow import UnitOfWork

QUARANTINE_NAMESPACE = UUID("6f1d3c1e-9d0a-4b44-8a55-3a0e5f4c9b10")
REJECTIONS = Counter("leadflow_intake_rejections_total", "Submissions kept in quarantine", ["source"])
# What of an unreadable message is kept as text.
RAW_TEXT_CHARS = 100_000


async def quarantine(
    uow: UnitOfWork,
    source: str,
    reason: str,
    payload: Any,
    *,
    causation: Envelope | None,
    part: str = "",
    problems: list[dict[str, str]] | None = None,
    rejection_id: UUID | None = None,
) -> UUID:
    """Store a rejection; its id derives from the causing event, so a replay stores it once.

    What PostgreSQL cannot hold (NUL, lone surrogates, huge numbers, deep nesting) is replaced in the stored
    copy: the refused input is often refused for exactly that.
    """
    if rejection_id is None:
        rejection_id = (
            uuid5(QUARANTINE_NAMESPACE, f"{causation.id}{part}") if causation is not None else uuid4()
        )
    await repo.quarantine(
        uow.conn,
        rejection_id,
        storable_copy(source),
        storable_copy(reason),
        storable_copy(problems or []),
        storable_copy(payload),
    )
    REJECTIONS.labels(source).inc()
    return rejection_id


async def keep_dead_letter(
    uow: UnitOfWork, msg: ConsumerRecord[bytes, bytes], kind: str, reason: str
) -> None:
    """Quarantine a message the consumer dead-letters: it shows in /v1/rejections, not only in the DLQ."""
    payload = _readable(msg.value or b"")
    await quarantine(
        uow,
        _source_of(payload, msg.topic),
        f"dead-lettered from {msg.topic} ({kind}): {reason}",
        payload,
        causation=None,
        problems=[{"field": "message", "message": reason}],
        # One row per message however often it is replayed.
        rejection_id=uuid5(QUARANTINE_NAMESPACE, f"dlq:{msg.topic}:{msg.partition}:{msg.offset}"),
    )


def _readable(raw: bytes) -> Any:
    """The message as JSON when it parses (the standard parser takes surrogates, big numbers), else text."""
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return {"unparsed": raw[:RAW_TEXT_CHARS].decode("utf-8", errors="replace")}
    return parsed if isinstance(parsed, dict) else {"unparsed": parsed}


def _source_of(payload: Any, topic: str) -> str:
    """The lead source a message names (raw or canonical submission, activity), else its topic."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, dict):
        submission = data.get("submission")
        for named in (
            data.get("source"),
            data.get("source_system"),
            submission.get("source_system") if isinstance(submission, dict) else None,
        ):
            if isinstance(named, str) and named:
                return named[:100]
    return topic
