"""Activities become lead.engaged; consent changes become lead.consent_changed. Neither is a lead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from leadflow_intake.adapters import repository as repo
from leadflow_intake.domain.activity import ActivityRejected, read_activity
from leadflow_intake.domain.normalise import email_key
from leadflow_intake.domain.sources import ConsentChange
from leadflow_intake.domain.updates import apply_submission
from leadflow_intake.use_cases.quarantine import quarantine
from leadflow_shared import metrics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import ActivityRecorded, LeadConsentChanged, LeadEngaged
from leadflow_shared.contracts.lead import Consent, ContactChannel, LeadProfile
from leadflow_shared.uow import UnitOfWork


@dataclass(frozen=True)
class Outcome:
    """What became of an activity or a consent change."""

    outcome: Literal["recorded", "repeated", "rejected", "kept"]
    lead_id: UUID | None = None
    reason: str | None = None


async def record_activity(
    uow: UnitOfWork, activity: ActivityRecorded, *, causation: Envelope | None
) -> Outcome:
    """Resolve the activity to a live lead and emit lead.engaged once per (source system, activity id)."""
    read = read_activity(
        activity.activity_type.value,
        occurred_at=activity.occurred_at,
        now=datetime.now(UTC),
        trigger=activity.trigger.value if activity.trigger else None,
        details=activity.details,
    )
    payload = activity.model_dump(mode="json")
    if isinstance(read, ActivityRejected):
        reason = "; ".join(f"{p.field}: {p.message}" for p in read.problems)
        await quarantine(uow, activity.source_system, reason, payload, causation=causation)
        return Outcome("rejected", reason=reason)
    lead_id = await repo.resolve_lead(
        uow.conn, activity.lead_id, email_key(activity.email) if activity.email else None
    )
    if lead_id is None:
        who = f"lead {activity.lead_id}" if activity.lead_id else f"email {activity.email!r}"
        reason = (
            f"activity for an unknown lead: no {who}"
            if (activity.lead_id or activity.email)
            else ("activity names neither a lead id nor an email")
        )
        await quarantine(uow, activity.source_system, reason, payload, causation=causation)
        metrics.EVENTS_REFUSED.labels("intake", "unknown_lead").inc()
        return Outcome("rejected", reason=reason)
    if not await repo.add_activity(
        uow.conn,
        activity.source_system,
        activity.activity_id,
        lead_id,
        read.activity_type.value,
        read.trigger.value if read.trigger else None,
        read.occurred_at,
    ):
        return Outcome("repeated", lead_id)
    await uow.outbox.emit(
        LeadEngaged(
            lead_id=lead_id,
            activity_id=activity.activity_id,
            activity_type=read.activity_type,
            occurred_at=read.occurred_at,
            trigger=read.trigger,
            details=dict(read.details),
        ),
        causation=causation,
    )
    return Outcome("recorded", lead_id)


async def change_consent(
    uow: UnitOfWork, change: ConsentChange, *, causation: Envelope | None, raw: object, part: str = ""
) -> Outcome:
    """Apply an opt-in or opt-out to the lead with that email and emit lead.consent_changed once.

    A change for an email no lead has yet is kept (pending_consent) and applied when that person is
    captured: an unsubscribe must hold even when it arrives before the lead it is about.
    """
    key = email_key(change.email) if change.email else None
    lead_id = await repo.resolve_lead(uow.conn, None, key)
    source_id = change.source_id or (
        str(causation.id) + part if causation else f"{change.email}:{change.reason}"
    )
    if lead_id is None and key is None:
        reason = "consent change names no email"
        await quarantine(uow, change.source_system, reason, raw, causation=causation, part=part)
        metrics.EVENTS_REFUSED.labels("intake", "unknown_lead").inc()
        return Outcome("rejected", reason=reason)
    if lead_id is None:
        await repo.keep_pending_consent(uow.conn, change, source_id, key)
        return Outcome("kept")
    return await _apply_consent(uow, lead_id, change, source_id, causation)


async def apply_pending_consent(
    uow: UnitOfWork, leads: Sequence[tuple[UUID, str | None, Envelope | None]]
) -> int:
    """Apply the kept consent changes of these (lead id, email, causing event) now their leads exist.

    Each is applied as it would have been had the lead existed, oldest first, and then forgotten.
    """
    by_email = {email_key(email): (lead_id, causation) for lead_id, email, causation in leads if email}
    if not by_email:
        return 0
    rows = await repo.take_pending_consent(uow.conn, list(by_email))
    for row in sorted(rows, key=lambda r: (r["occurred_at"] or r["received_at"], r["seq"])):
        lead_id, causation = by_email[row["email_key"]]
        change = ConsentChange(
            source_system=row["source_system"],
            email=row["email_key"],
            channel=ContactChannel(row["channel"]),
            opted_in=row["opted_in"],
            reason=row["reason"],
            source_id=row["source_id"],
            occurred_at=row["occurred_at"] or row["received_at"],
        )
        await _apply_consent(uow, lead_id, change, row["source_id"], causation)
    return len(rows)


async def _apply_consent(
    uow: UnitOfWork, lead_id: UUID, change: ConsentChange, source_id: str, causation: Envelope | None
) -> Outcome:
    if not await repo.add_consent_change(uow.conn, change, source_id, lead_id):
        return Outcome("repeated", lead_id)
    stored = (await repo.lock_profiles(uow.conn, [lead_id])).get(lead_id)
    if stored is not None:
        # A submission's rule: an opt-out wins over an opt-in of an older or equal moment.
        said = LeadProfile(
            consent=Consent(**{change.channel.value: change.opted_in}), is_test=stored.profile.is_test
        )
        update = apply_submission(
            stored.profile,
            said,
            change.occurred_at or datetime.now(UTC),
            as_of=stored.as_of,
            baseline=stored.baseline,
        )
        await repo.update_leads(uow.conn, [(lead_id, update.profile)], [update.as_of])
    await uow.outbox.emit(
        LeadConsentChanged(
            lead_id=lead_id, channel=change.channel, opted_in=change.opted_in, reason=change.reason
        ),
        causation=causation,
    )
    return Outcome("recorded", lead_id)
