"""Capture a submission: normalise it, find the person it belongs to, remember the touch, emit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID, uuid4, uuid5

from leadflow_intake.adapters import repository as repo
from leadflow_intake.domain.dedup import MatchOutcome, MatchThresholds, match, merge_profiles
from leadflow_intake.domain.normalise import Normalised, Rejected, normalise
from leadflow_intake.use_cases.quarantine import quarantine
from leadflow_shared.consumer import Retry
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import LeadCaptured, LeadUpdated
from leadflow_shared.contracts.lead import LeadProfile, LeadSubmission
from leadflow_shared.uow import UnitOfWork

DUPLICATE_NAMESPACE = UUID("0b7f2c55-1f43-4d0e-9a61-2f7d8e3c4a19")


@dataclass(frozen=True)
class DedupPolicy:
    """How eagerly a new profile is folded into a similar known lead."""

    thresholds: MatchThresholds = field(default_factory=MatchThresholds)
    max_candidates: int = 50


@dataclass(frozen=True)
class CaptureResult:
    """What became of a submission."""

    outcome: Literal["captured", "updated", "duplicate_delivery", "rejected"]
    lead_id: UUID | None = None
    reason: str | None = None
    review_against: UUID | None = None


def identity_keys(profile: LeadProfile) -> list[tuple[str, str]]:
    """The keys that make two submissions the same person: email and phone."""
    keys = []
    if profile.email:
        keys.append(("email", profile.email))
    if profile.phone:
        keys.append(("phone", profile.phone))
    return keys


async def capture(
    uow: UnitOfWork,
    submission: LeadSubmission,
    *,
    causation: Envelope | None = None,
    correlation_id: str | None = None,
    raw: object = None,
    policy: DedupPolicy = DedupPolicy(),
) -> CaptureResult:
    """Turn one submission into a captured or updated lead, or quarantine it with its reason."""
    if submission.source_id:
        seen = await repo.touch_seen(uow.conn, submission.source_system, submission.source_id)
        if seen is not None:
            return CaptureResult("duplicate_delivery", seen)

    result = normalise(submission, received_at=datetime.now(UTC))
    if isinstance(result, Rejected):
        await quarantine(
            uow,
            submission.source_system,
            result.reason(),
            raw if raw is not None else submission.model_dump(mode="json"),
            causation=causation,
            part=f":{submission.source_id}" if submission.source_id else "",
            problems=[{"field": p.field, "message": p.message} for p in result.problems],
        )
        return CaptureResult("rejected", reason=result.reason())
    assert isinstance(result, Normalised)

    keys = identity_keys(result.profile)
    existing = await repo.leads_by_keys(uow.conn, keys)
    review_against: UUID | None = None
    review_score, review_reason = 0.0, ""
    if not existing:
        candidates = await repo.fuzzy_candidates(uow.conn, result.profile, policy.max_candidates)
        decision = match(result.profile, candidates, policy.thresholds)
        if decision.outcome is MatchOutcome.MERGE and decision.candidate is not None:
            existing = [decision.candidate]
        elif decision.outcome is MatchOutcome.REVIEW and decision.candidate is not None:
            review_against, review_score, review_reason = decision.candidate, decision.score, decision.reason
    if existing:
        lead_id = existing[0]
        stored = await repo.load_profile(uow.conn, lead_id, lock=True)
        profile = merge_profiles(stored, result.profile) if stored else result.profile
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
    if review_against is not None:
        pair = sorted([str(lead_id), str(review_against)])
        await repo.record_duplicate(
            uow.conn,
            uuid5(DUPLICATE_NAMESPACE, ":".join(pair)),
            lead_id,
            review_against,
            review_score,
            review_reason,
        )
    await uow.outbox.emit(
        LeadCaptured(lead_id=lead_id, profile=result.profile, touch=result.touch),
        causation=causation,
        correlation_id=correlation_id,
    )
    return CaptureResult("captured", lead_id, review_against=review_against)
