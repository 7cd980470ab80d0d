"""Correct a lead's profile by hand: kept with actor and reason, emitted as lead.updated when it changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from leadflow_intake.adapters import repository as repo
from leadflow_intake.domain.corrections import apply_correction, read_correction
from leadflow_intake.domain.normalise import Rejected
from leadflow_intake.use_cases.capture import identity_keys
from leadflow_shared.contracts.events import LeadUpdated
from leadflow_shared.contracts.lead import Channel, LeadProfile, Touch
from leadflow_shared.uow import UnitOfWork

CORRECTION_SOURCE = "correction"


@dataclass(frozen=True)
class CorrectionResult:
    """What became of a correction."""

    outcome: Literal["corrected", "unchanged", "not_found", "merged", "conflict", "invalid"]
    changed: tuple[str, ...] = ()
    profile: LeadProfile | None = None
    correction_id: UUID | None = None
    merged_into: UUID | None = None
    message: str = ""
    problems: list[dict[str, str]] = field(default_factory=list)


async def correct_lead(
    uow: UnitOfWork,
    lead_id: UUID,
    fields: Mapping[str, Any],
    *,
    actor: str,
    reason: str,
    default_region: str | None,
    correlation_id: str | None = None,
) -> CorrectionResult:
    """Apply a person's correction as the newest facts; keep it and emit lead.updated if anything changed."""
    conn = uow.conn
    found, merged_into = await repo.lock_lead_state(conn, lead_id)
    if not found:
        return CorrectionResult("not_found", message=f"no lead {lead_id}")
    if merged_into is not None:
        return CorrectionResult(
            "merged", merged_into=merged_into, message=f"lead {lead_id} was merged into {merged_into}"
        )
    stored = (await repo.lock_profiles(conn, [lead_id]))[lead_id]
    read = read_correction(fields, lead_country=stored.profile.country, default_region=default_region)
    if isinstance(read, Rejected):
        problems = [{"field": p.field, "message": p.message} for p in read.problems]
        return CorrectionResult("invalid", message=read.reason(), problems=problems)
    # The newest fact even when a submission claimed a moment still to come.
    at = max([datetime.now(UTC), *stored.as_of.values()])
    update = apply_correction(stored.profile, read, at, as_of=stored.as_of)
    if not update.changed:
        return CorrectionResult("unchanged", profile=stored.profile)
    keys = identity_keys(update.profile)
    others = [owner for owner in await repo.leads_by_keys(conn, keys) if owner != lead_id]
    if others:
        return CorrectionResult(
            "conflict", message=f"the email address or phone number belongs to lead {others[0]}"
        )
    await repo.update_leads(conn, [(lead_id, update.profile)], [update.as_of])
    await repo.claim_keys(conn, lead_id, keys)
    before, after = stored.profile.model_dump(mode="json"), update.profile.model_dump(mode="json")
    changes = {path: {"from": _at(before, path), "to": _at(after, path)} for path in update.changed}
    correction_id = uuid4()
    await repo.record_correction(conn, correction_id, lead_id, actor, reason, changes, at)
    touch = Touch(
        channel=Channel.API, source_system=CORRECTION_SOURCE, source_id=str(correction_id), occurred_at=at
    )
    await uow.outbox.emit(
        LeadUpdated(lead_id=lead_id, profile=update.profile, touch=touch, changed=list(update.changed)),
        correlation_id=correlation_id,
    )
    return CorrectionResult("corrected", update.changed, update.profile, correction_id)


def _at(profile: dict[str, Any], path: str) -> Any:
    group, _, key = path.partition(".")
    return profile[group].get(key) if key else profile.get(group)
