"""Kafka entrypoints of opportunity."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import ValidationError

from leadflow_opportunity.adapters import leads
from leadflow_opportunity.adapters.config_store import ConfigStore
from leadflow_opportunity.use_cases import conversion, erasure
from leadflow_shared.consumer import Events, On, Reject, Subscription, each
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import LeadQualified, LeadStatusChanged, PersonErasureRequested
from leadflow_shared.uow import UnitOfWork


async def on_statuses_changed(uow: UnitOfWork, events: Events[LeadStatusChanged]) -> None:
    """qualification: lead.status_changed of many leads, in one statement."""
    await leads.record_statuses(uow.conn, [(c.lead_id, c.to_status, c.category) for _, c in events])


async def on_erasure_requested(uow: UnitOfWork, envelope: Envelope, data: PersonErasureRequested) -> None:
    """intake: person.erasure_requested."""
    await erasure.person_erasure_requested(uow, data, envelope)


def subscriptions(store: ConfigStore) -> list[Subscription]:
    """What opportunity consumes; conversions go by the configuration loaded for their batch."""

    async def on_qualified(uow: UnitOfWork, events: Events[LeadQualified]) -> None:
        """qualification: lead.qualified -> convert, and open an opportunity when the criteria hold; many
        leads are converted together in a few statements."""
        try:
            await conversion.convert_many_qualified(
                uow, await store.load(uow.conn), events, datetime.now(UTC)
            )
        except ValidationError as error:
            # A group fails whole, and the consumer replays it message by message to refuse this one alone.
            lead_ids = ", ".join(str(data.lead_id) for _, data in events)
            raise Reject(f"lead.qualified {lead_ids} carries signals out of range: {error}") from error

    return [
        Subscription(
            name="qualification",
            topics=(topics.QUALIFICATION_EVENTS,),
            on=(On(LeadStatusChanged, on_statuses_changed), On(LeadQualified, on_qualified)),
        ),
        Subscription(
            name="erasure",
            topics=(topics.INTAKE_ERASURES,),
            on=(On(PersonErasureRequested, each(on_erasure_requested)),),
        ),
    ]
