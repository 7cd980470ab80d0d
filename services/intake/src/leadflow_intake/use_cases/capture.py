"""Capture a submission: normalise it, find the person it belongs to, remember the touch, emit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID, uuid4, uuid5

from leadflow_intake.adapters import repository as repo
from leadflow_intake.domain.normalise import Normalised, Rejected, normalise
from leadflow_shared.consumer import Retry
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import LeadCaptured, LeadUpdated
from leadflow_shared.contracts.lead import LeadProfile, LeadSubmission
from leadflow_shared.uow import UnitOfWork

QUARANTINE_NAMESPACE = UUID("6f1d3c1e-9d0a-4b44-8a55-3a0e5f4c9b10")


@dataclass(frozen=True)
class CaptureResult:
    """What became of a submission."""

    outcome: Literal["captured", "updated", "duplicate_delivery", "rejected"]
    lead_id: UUID | None = None
    reason: str | None = None


def identity_keys(profile: LeadProfile) -> list[tuple[str, str]]:
    """The keys that make two submissions the same person: email and phone."""
    keys = []
    if profile.email:
        keys.append(("email", profile.email))
    if profile.phone:
        keys.append(("phone", profile.phone))
    return keys


def fill_empty(survivor: LeadProfile, other: LeadProfile) -> LeadProfile:
    """Fill the survivor's empty fields from the other profile, never overwriting."""
    current = survivor.model_dump()
    for name, value in other.model_dump().items():
        if current.get(name) in (None, "", {}, []) and value not in (None, "", {}, []):
            current[name] = value
    return LeadProfile.model_validate(current)


async def capture(
    uow: UnitOfWork,
    submission: LeadSubmission,
    *,
    causation: Envelope | None = None,
    correlation_id: str | None = None,
    raw: object = None,
) -> CaptureResult:
    """Turn one submission into a captured or updated lead, or quarantine it with its reason."""
    if submission.source_id:
        seen = await repo.touch_seen(uow.conn, submission.source_system, submission.source_id)
        if seen is not None:
            return CaptureResult("duplicate_delivery", seen)

    result = normalise(submission, received_at=datetime.now(UTC))
    if isinstance(result, Rejected):
        rejection_id = uuid5(QUARANTINE_NAMESPACE, str(causation.id)) if causation is not None else uuid4()
        await repo.quarantine(
            uow.conn,
            rejection_id,
            submission.source_system,
            result.reason(),
            [{"field": p.field, "message": p.message} for p in result.problems],
            raw if raw is not None else submission.model_dump(mode="json"),
        )
        return CaptureResult("rejected", reason=result.reason())
    assert isinstance(result, Normalised)

    keys = identity_keys(result.profile)
    existing = await repo.leads_by_keys(uow.conn, keys)
    if existing:
        lead_id = existing[0]
        stored = await repo.load_profile(uow.conn, lead_id, lock=True)
        profile = fill_empty(stored, result.profile) if stored else result.profile
        await repo.update_lead(uow.conn, lead_id, profile)
        await repo.claim_keys(uow.conn, lead_id, keys)
        if not await repo.add_touch(uow.conn, lead_id, result.touch):
            return CaptureResult("duplicate_delivery", lead_id)
        await uow.outbox.emit(
            LeadUpdated(lead_id=lead_id, profile=profile, touch=result.touch),
            causation=causation,
            correlation_id=correlation_id,
        )
        return CaptureResult("updated", lead_id)

    lead_id = uuid4()
    await repo.insert_lead(uow.conn, lead_id, result.profile)
    if not await repo.claim_keys(uow.conn, lead_id, keys):
        # A concurrent submission of the same person won the keys; retrying finds and updates it.
        raise Retry("identity key taken by a concurrent capture")
    if not await repo.add_touch(uow.conn, lead_id, result.touch):
        raise Retry("source id recorded by a concurrent capture")
    await uow.outbox.emit(
        LeadCaptured(lead_id=lead_id, profile=result.profile, touch=result.touch),
        causation=causation,
        correlation_id=correlation_id,
    )
    return CaptureResult("captured", lead_id)
