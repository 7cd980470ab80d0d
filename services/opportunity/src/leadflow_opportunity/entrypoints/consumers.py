"""Kafka entrypoints of opportunity."""

from __future__ import annotations

from typing import Any

from leadflow_opportunity.adapters import leads
from leadflow_shared.consumer import Subscription
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import LeadStatusChanged
from leadflow_shared.uow import UnitOfWork


async def on_status_changed(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """qualification: lead.status_changed."""
    assert isinstance(data, LeadStatusChanged)
    await leads.record_status(uow.conn, data.lead_id, data.to_status, data.category)


def subscriptions() -> list[Subscription]:
    """What opportunity consumes."""
    return [
        Subscription(
            name="qualification",
            topics=(topics.QUALIFICATION_EVENTS,),
            handlers={LeadStatusChanged.event_type: on_status_changed},
        ),
    ]
