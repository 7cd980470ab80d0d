"""Kafka entrypoints of qualification."""

from __future__ import annotations

from typing import Any

from leadflow_qualification.use_cases import erasure, intake_events, pipeline_events
from leadflow_shared.consumer import Subscription
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    LeadCaptured,
    LeadConverted,
    LeadEngaged,
    LeadMerged,
    LeadRequalificationRequested,
    LeadUnmerged,
    LeadUpdated,
    NurtureExhausted,
    PersonErasureRequested,
)
from leadflow_shared.uow import UnitOfWork


async def on_captured(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """intake: lead.captured."""
    await intake_events.lead_captured(uow, data, envelope)


async def on_captured_many(uow: UnitOfWork, items: list[tuple[Envelope, Any]]) -> None:
    """intake: many lead.captured at once."""
    await intake_events.leads_captured(uow, items)


async def on_updated(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """intake: lead.updated."""
    await intake_events.lead_updated(uow, data, envelope)


async def on_updated_many(uow: UnitOfWork, items: list[tuple[Envelope, Any]]) -> None:
    """intake: many lead.updated at once."""
    await intake_events.leads_updated(uow, items)


async def on_merged(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """intake: lead.merged."""
    await intake_events.lead_merged(uow, data, envelope)


async def on_unmerged(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """intake: lead.unmerged."""
    await intake_events.lead_unmerged(uow, data, envelope)


async def on_engaged(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """intake: lead.engaged."""
    await intake_events.lead_engaged(uow, data, envelope)


async def on_engaged_many(uow: UnitOfWork, items: list[tuple[Envelope, Any]]) -> None:
    """intake: many lead.engaged at once."""
    await intake_events.leads_engaged(uow, items)


async def on_converted(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """opportunity: lead.converted."""
    await pipeline_events.lead_converted(uow, data, envelope)


async def on_converted_many(uow: UnitOfWork, items: list[tuple[Envelope, Any]]) -> None:
    """opportunity: many lead.converted at once."""
    await pipeline_events.leads_converted(uow, items)


async def on_requalification(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """nurture: lead.requalification_requested."""
    await pipeline_events.requalification_requested(uow, data, envelope)


async def on_requalification_many(uow: UnitOfWork, items: list[tuple[Envelope, Any]]) -> None:
    """nurture: many lead.requalification_requested at once."""
    await pipeline_events.requalifications_requested(uow, items)


async def on_exhausted(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """nurture: nurture.exhausted."""
    await pipeline_events.nurture_exhausted(uow, data, envelope)


async def on_exhausted_many(uow: UnitOfWork, items: list[tuple[Envelope, Any]]) -> None:
    """nurture: many nurture.exhausted at once."""
    await pipeline_events.nurtures_exhausted(uow, items)


async def on_erasure_requested(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """intake: person.erasure_requested."""
    await erasure.person_erasure_requested(uow, data, envelope)


def subscriptions() -> list[Subscription]:
    """What qualification consumes."""
    return [
        Subscription(
            name="intake",
            topics=(topics.INTAKE_EVENTS, topics.INTAKE_ERASURES),
            handlers={
                LeadCaptured.event_type: on_captured,
                LeadUpdated.event_type: on_updated,
                LeadMerged.event_type: on_merged,
                LeadUnmerged.event_type: on_unmerged,
                LeadEngaged.event_type: on_engaged,
                PersonErasureRequested.event_type: on_erasure_requested,
            },
            batch_handlers={
                LeadCaptured.event_type: on_captured_many,
                LeadUpdated.event_type: on_updated_many,
                LeadEngaged.event_type: on_engaged_many,
            },
        ),
        Subscription(
            name="pipeline",
            topics=(topics.OPPORTUNITY_EVENTS, topics.NURTURE_EVENTS),
            handlers={
                LeadConverted.event_type: on_converted,
                LeadRequalificationRequested.event_type: on_requalification,
                NurtureExhausted.event_type: on_exhausted,
            },
            batch_handlers={
                LeadConverted.event_type: on_converted_many,
                LeadRequalificationRequested.event_type: on_requalification_many,
                NurtureExhausted.event_type: on_exhausted_many,
            },
        ),
    ]
