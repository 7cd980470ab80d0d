"""Kafka entrypoints of qualification."""

from __future__ import annotations

from typing import Any

from leadflow_qualification.use_cases import intake_events
from leadflow_shared.consumer import Subscription
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import LeadCaptured, LeadUpdated
from leadflow_shared.uow import UnitOfWork


async def on_captured(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """intake: lead.captured."""
    await intake_events.lead_captured(uow, data, envelope)


async def on_updated(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """intake: lead.updated."""
    await intake_events.lead_updated(uow, data, envelope)


def subscriptions() -> list[Subscription]:
    """What qualification consumes."""
    return [
        Subscription(
            name="intake",
            topics=(topics.INTAKE_EVENTS,),
            handlers={LeadCaptured.event_type: on_captured, LeadUpdated.event_type: on_updated},
        ),
    ]
