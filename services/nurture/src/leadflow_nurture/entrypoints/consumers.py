"""Kafka entrypoints of nurture."""

from __future__ import annotations

from typing import Any

from leadflow_nurture.adapters import leads
from leadflow_shared.consumer import Subscription
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import LeadCaptured, LeadStatusChanged, LeadUpdated
from leadflow_shared.uow import UnitOfWork


async def on_status_changed(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """qualification: lead.status_changed."""
    assert isinstance(data, LeadStatusChanged)
    await leads.record_status(uow.conn, data.lead_id, data.to_status, data.category)


async def on_profile(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """intake: lead.captured and lead.updated carry the profile nurture writes to."""
    assert isinstance(data, LeadCaptured | LeadUpdated)
    await leads.record_profile(uow.conn, data.lead_id, data.profile)


def subscriptions() -> list[Subscription]:
    """What nurture consumes."""
    return [
        Subscription(
            name="qualification",
            topics=(topics.QUALIFICATION_EVENTS,),
            handlers={LeadStatusChanged.event_type: on_status_changed},
        ),
        Subscription(
            name="intake",
            topics=(topics.INTAKE_EVENTS,),
            handlers={LeadCaptured.event_type: on_profile, LeadUpdated.event_type: on_profile},
        ),
    ]
