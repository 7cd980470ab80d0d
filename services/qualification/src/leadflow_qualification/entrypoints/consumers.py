"""Kafka entrypoints of qualification."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases import erasure, intake_events, pipeline_events
from leadflow_shared.consumer import Events, On, Subscription, each
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    EventData,
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

E = TypeVar("E", bound=EventData)


async def on_erasure_requested(uow: UnitOfWork, envelope: Envelope, data: PersonErasureRequested) -> None:
    """intake: person.erasure_requested."""
    await erasure.person_erasure_requested(uow, data, envelope)


def subscriptions(store: cfg.ConfigStore) -> list[Subscription]:
    """What qualification consumes; each handler judges by the configuration loaded for its batch."""

    def judged(
        handle: Callable[[UnitOfWork, cfg.Config, Sequence[tuple[Envelope, E]]], Awaitable[None]],
    ) -> Callable[[UnitOfWork, Events[E]], Awaitable[None]]:
        async def handler(uow: UnitOfWork, events: Events[E]) -> None:
            await handle(uow, await store.load(uow.conn), events)

        return handler

    def judged_each(
        handle: Callable[[UnitOfWork, cfg.Config, E, Envelope], Awaitable[None]],
    ) -> Callable[[UnitOfWork, Events[E]], Awaitable[None]]:
        async def handler(uow: UnitOfWork, events: Events[E]) -> None:
            config = await store.load(uow.conn)
            for envelope, data in events:
                await handle(uow, config, data, envelope)

        return handler

    return [
        Subscription(
            name="intake",
            topics=(topics.INTAKE_EVENTS, topics.INTAKE_ERASURES),
            on=(
                On(LeadCaptured, judged(intake_events.leads_captured)),
                On(LeadUpdated, judged(intake_events.leads_updated)),
                On(LeadMerged, judged_each(intake_events.lead_merged)),
                On(LeadUnmerged, judged_each(intake_events.lead_unmerged)),
                On(LeadEngaged, judged(intake_events.leads_engaged)),
                On(PersonErasureRequested, each(on_erasure_requested)),
            ),
        ),
        Subscription(
            name="pipeline",
            topics=(topics.OPPORTUNITY_EVENTS, topics.NURTURE_EVENTS),
            on=(
                On(LeadConverted, judged(pipeline_events.leads_converted)),
                On(LeadRequalificationRequested, judged(pipeline_events.requalifications_requested)),
                On(NurtureExhausted, judged(pipeline_events.nurtures_exhausted)),
            ),
        ),
    ]
