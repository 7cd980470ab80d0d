"""Kafka entrypoints of qualification."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases import erasure, intake_events, pipeline_events
from leadflow_shared.consumer import BatchHandler, Handler, Subscription
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


async def on_erasure_requested(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """intake: person.erasure_requested."""
    await erasure.person_erasure_requested(uow, data, envelope)


One = Callable[[UnitOfWork, cfg.Config, Any, Envelope], Awaitable[None]]
Many = Callable[[UnitOfWork, cfg.Config, list[tuple[Envelope, Any]]], Awaitable[None]]


def subscriptions(store: cfg.ConfigStore) -> list[Subscription]:
    """What qualification consumes; each handler judges by the configuration loaded for its batch."""

    def one(handle: One) -> Handler:
        async def handler(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
            await handle(uow, await store.load(uow.conn), data, envelope)

        return handler

    def many(handle: Many) -> BatchHandler:
        async def handler(uow: UnitOfWork, items: list[tuple[Envelope, Any]]) -> None:
            await handle(uow, await store.load(uow.conn), items)

        return handler

    return [
        Subscription(
            name="intake",
            topics=(topics.INTAKE_EVENTS, topics.INTAKE_ERASURES),
            handlers={
                LeadCaptured.event_type: one(intake_events.lead_captured),
                LeadUpdated.event_type: one(intake_events.lead_updated),
                LeadMerged.event_type: one(intake_events.lead_merged),
                LeadUnmerged.event_type: one(intake_events.lead_unmerged),
                LeadEngaged.event_type: one(intake_events.lead_engaged),
                PersonErasureRequested.event_type: on_erasure_requested,
            },
            batch_handlers={
                LeadCaptured.event_type: many(intake_events.leads_captured),
                LeadUpdated.event_type: many(intake_events.leads_updated),
                LeadEngaged.event_type: many(intake_events.leads_engaged),
            },
        ),
        Subscription(
            name="pipeline",
            topics=(topics.OPPORTUNITY_EVENTS, topics.NURTURE_EVENTS),
            handlers={
                LeadConverted.event_type: one(pipeline_events.lead_converted),
                LeadRequalificationRequested.event_type: one(pipeline_events.requalification_requested),
                NurtureExhausted.event_type: one(pipeline_events.nurture_exhausted),
            },
            batch_handlers={
                LeadConverted.event_type: many(pipeline_events.leads_converted),
                LeadRequalificationRequested.event_type: many(pipeline_events.requalifications_requested),
                NurtureExhausted.event_type: many(pipeline_events.nurtures_exhausted),
            },
        ),
    ]
