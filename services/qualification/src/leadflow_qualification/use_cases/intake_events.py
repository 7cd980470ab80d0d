"""React to what intake emits: new leads start open, known leads keep their profile current."""

from __future__ import annotations

from leadflow_qualification.adapters import repository as repo
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import LeadCaptured, LeadStatusChanged, LeadUpdated
from leadflow_shared.uow import UnitOfWork

OPEN = "open"


async def lead_captured(uow: UnitOfWork, event: LeadCaptured, envelope: Envelope) -> None:
    """A new lead is open; the change is kept in the history and emitted."""
    created = await repo.insert_lead(uow.conn, event.lead_id, OPEN, OPEN, event.profile, event.touch)
    if not created:
        return
    reason = f"captured from {event.touch.source_system} ({event.touch.channel})"
    await repo.add_history(uow.conn, event.lead_id, None, OPEN, OPEN, reason, "rule:capture")
    await uow.outbox.emit(
        LeadStatusChanged(
            lead_id=event.lead_id,
            from_status=None,
            to_status=OPEN,
            category=OPEN,
            reason=reason,
            actor="rule:capture",
        ),
        causation=envelope,
    )


async def lead_updated(uow: UnitOfWork, event: LeadUpdated, envelope: Envelope) -> None:
    """The same person was seen again: keep the profile current."""
    await repo.update_profile(uow.conn, event.lead_id, event.profile)
