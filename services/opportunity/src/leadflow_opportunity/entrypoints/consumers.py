"""Kafka entrypoints of opportunity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from leadflow_opportunity.adapters import leads
from leadflow_opportunity.use_cases import conversion
from leadflow_shared.consumer import Reject, Subscription
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import LeadQualified, LeadStatusChanged
from leadflow_shared.uow import UnitOfWork


async def on_status_changed(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """qualification: lead.status_changed."""
    assert isinstance(data, LeadStatusChanged)
    await leads.record_status(uow.conn, data.lead_id, data.to_status, data.category)


async def on_qualified(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """qualification: lead.qualified -> convert, and open an opportunity when the criteria hold."""
    assert isinstance(data, LeadQualified)
    try:
        await conversion.convert_qualified(uow, envelope, data, datetime.now(UTC))
    except ValidationError as error:
        raise Reject(f"lead.qualified {data.lead_id} carries signals out of range: {error}") from error


def subscriptions() -> list[Subscription]:
    """What opportunity consumes."""
    return [
        Subscription(
            name="qualification",
            topics=(topics.QUALIFICATION_EVENTS,),
            handlers={
                LeadStatusChanged.event_type: on_status_changed,
                LeadQualified.event_type: on_qualified,
            },
        ),
    ]
