"""Kafka entrypoints of intake: translate messages and call the use cases."""

from __future__ import annotations

from typing import Any

from leadflow_intake.use_cases.capture import capture
from leadflow_shared.consumer import Subscription
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import LeadSubmitted
from leadflow_shared.uow import UnitOfWork


async def on_lead_submitted(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """A canonical submission arrived on leads.submitted."""
    assert isinstance(data, LeadSubmitted)
    await capture(uow, data.submission, causation=envelope)


def subscriptions() -> list[Subscription]:
    """What intake consumes."""
    return [
        Subscription(
            name="submissions",
            topics=(topics.LEADS_SUBMITTED,),
            handlers={LeadSubmitted.event_type: on_lead_submitted},
        ),
    ]
