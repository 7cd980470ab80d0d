"""Kafka entrypoints of opportunity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from leadflow_opportunity.adapters import leads
from leadflow_opportunity.adapters.config_store import ConfigStore, Configuration
from leadflow_opportunity.use_cases import conversion, erasure
from leadflow_shared.consumer import Reject, Subscription
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import LeadQualified, LeadStatusChanged, PersonErasureRequested
from leadflow_shared.uow import UnitOfWork


async def on_status_changed(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """qualification: lead.status_changed."""
    await on_statuses_changed(uow, [(envelope, data)])


async def on_statuses_changed(uow: UnitOfWork, items: list[tuple[Envelope, Any]]) -> None:
    """qualification: lead.status_changed of many leads, in one statement."""
    changes = [data for _, data in items]
    assert all(isinstance(data, LeadStatusChanged) for data in changes)
    await leads.record_statuses(uow.conn, [(c.lead_id, c.to_status, c.category) for c in changes])


async def on_qualified(uow: UnitOfWork, config: Configuration, envelope: Envelope, data: Any) -> None:
    """qualification: lead.qualified -> convert, and open an opportunity when the criteria hold."""
    assert isinstance(data, LeadQualified)
    try:
        await conversion.convert_qualified(uow, config, envelope, data, datetime.now(UTC))
    except ValidationError as error:
        raise Reject(f"lead.qualified {data.lead_id} carries signals out of range: {error}") from error


async def on_many_qualified(
    uow: UnitOfWork, config: Configuration, items: list[tuple[Envelope, Any]]
) -> None:
    """qualification: lead.qualified of many leads, converted together in a few statements."""
    # A refused one fails the group, which the consumer then replays message by message to refuse it alone.
    assert all(isinstance(data, LeadQualified) for _, data in items)
    await conversion.convert_many_qualified(uow, config, items, datetime.now(UTC))


async def on_erasure_requested(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
    """intake: person.erasure_requested."""
    assert isinstance(data, PersonErasureRequested)
    await erasure.person_erasure_requested(uow, data, envelope)


def subscriptions(store: ConfigStore) -> list[Subscription]:
    """What opportunity consumes; conversions go by the configuration loaded for their batch."""

    async def qualified(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
        await on_qualified(uow, await store.load(uow.conn), envelope, data)

    async def many_qualified(uow: UnitOfWork, items: list[tuple[Envelope, Any]]) -> None:
        await on_many_qualified(uow, await store.load(uow.conn), items)

    return [
        Subscription(
            name="qualification",
            topics=(topics.QUALIFICATION_EVENTS,),
            handlers={
                LeadStatusChanged.event_type: on_status_changed,
                LeadQualified.event_type: qualified,
            },
            batch_handlers={
                LeadStatusChanged.event_type: on_statuses_changed,
                LeadQualified.event_type: many_qualified,
            },
        ),
        Subscription(
            name="erasure",
            topics=(topics.INTAKE_ERASURES,),
            handlers={PersonErasureRequested.event_type: on_erasure_requested},
        ),
    ]
