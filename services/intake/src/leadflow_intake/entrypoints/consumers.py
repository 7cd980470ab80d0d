"""Kafka entrypoints of intake: submissions (canonical and raw) and upstream activity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg

from leadflow_intake.adapters.vendors import VendorClient
from leadflow_intake.use_cases.capture import DedupPolicy, capture_many
from leadflow_intake.use_cases.engagement import record_activity
from leadflow_intake.use_cases.erasure import record_confirmation
from leadflow_intake.use_cases.ingest import ingest_raw
from leadflow_intake.use_cases.quarantine import keep_dead_letter
from leadflow_intake.use_cases.vendor_fetch import NOTHING_FETCHED, Fetched, prefetch
from leadflow_shared.consumer import Events, On, Prepare, Subscription, each
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    ERASURE_CONFIRMATIONS,
    ActivityRecorded,
    LeadSubmitted,
    PersonErased,
    RawLeadSubmitted,
)
from leadflow_shared.uow import UnitOfWork


def handlers(vendors: VendorClient, policy: DedupPolicy) -> dict[str, On[Any]]:
    """The handler of each event type intake consumes, bound to its ports."""

    async def on_leads_submitted(uow: UnitOfWork, events: Events[LeadSubmitted]) -> None:
        """Canonical submissions arrived on leads.submitted."""
        await capture_many(uow, [(data.submission, envelope) for envelope, data in events], policy=policy)

    async def on_raw_submitted(uow: UnitOfWork, envelope: Envelope, data: RawLeadSubmitted) -> None:
        """A vendor payload arrived (from a webhook or an upstream producer)."""
        await ingest_raw(
            uow,
            data,
            causation=envelope,
            fetched=uow.prepared.get(envelope.id, NOTHING_FETCHED),
            retry_window_s=vendors.settings.vendor_retry_window_s,
            policy=policy,
        )

    async def on_activity(uow: UnitOfWork, envelope: Envelope, data: ActivityRecorded) -> None:
        """An engagement or trigger event arrived on leads.activity."""
        await record_activity(uow, data, causation=envelope)

    return {
        LeadSubmitted.event_type: On(LeadSubmitted, on_leads_submitted),
        RawLeadSubmitted.event_type: On(RawLeadSubmitted, each(on_raw_submitted)),
        ActivityRecorded.event_type: On(ActivityRecorded, each(on_activity)),
    }


async def on_person_erased(uow: UnitOfWork, envelope: Envelope, data: PersonErased) -> None:
    """Another service confirmed it erased a person's data."""
    await record_confirmation(uow, data.request_id, data.service)


def prepare(vendors: VendorClient) -> Prepare:
    """Fetch the leads vendors sent by id only, before the batch's transaction opens."""

    async def fetch(pool: asyncpg.Pool, items: list[tuple[Envelope, Any]]) -> Mapping[UUID, Fetched]:
        return await prefetch(pool, items, vendors)

    return fetch


def subscriptions(vendors: VendorClient, policy: DedupPolicy) -> list[Subscription]:
    """What intake consumes; whatever it dead-letters it also keeps in quarantine."""
    table = handlers(vendors, policy)
    return [
        Subscription(
            name="submissions",
            topics=(topics.LEADS_SUBMITTED,),
            on=(table[LeadSubmitted.event_type], table[RawLeadSubmitted.event_type]),
            on_dead_letter=keep_dead_letter,
            prepare=prepare(vendors),
        ),
        Subscription(
            name="activity",
            topics=(topics.LEADS_ACTIVITY,),
            on=(table[ActivityRecorded.event_type],),
            on_dead_letter=keep_dead_letter,
        ),
        Subscription(
            name="erasure-confirmations",
            topics=(topics.QUALIFICATION_ERASURES, topics.OPPORTUNITY_ERASURES, topics.NURTURE_ERASURES),
            on=tuple(On(model, each(on_person_erased)) for model in ERASURE_CONFIRMATIONS.values()),
        ),
    ]
