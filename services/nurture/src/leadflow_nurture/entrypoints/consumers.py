"""Kafka entrypoints of nurture."""

from __future__ import annotations

from typing import Any

from leadflow_nurture.adapters import leads
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.enrollment import EnrollmentStatus
from leadflow_nurture.domain.matching import LeadContext, should_archive
from leadflow_nurture.use_cases import lifecycle
from leadflow_shared.consumer import Handler, Subscription
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    LeadCaptured,
    LeadConsentChanged,
    LeadConverted,
    LeadDisqualified,
    LeadEngaged,
    LeadStatusChanged,
    LeadUpdated,
    OpportunityLost,
)
from leadflow_shared.uow import UnitOfWork

NURTURING = "nurturing"
ENDS_NURTURE = frozenset({"qualified", "converted"})


def subscriptions(store: TrackStore) -> list[Subscription]:
    """What nurture consumes."""

    async def on_status_changed(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
        """qualification: lead.status_changed (nurturing enrolls; qualified or converted ends nurture)."""
        assert isinstance(data, LeadStatusChanged)
        await leads.record_status(uow.conn, data.lead_id, data.to_status, data.category)
        if data.to_status == NURTURING:
            profile = await lifecycle.profile_of(uow.conn, data.lead_id)
            context = LeadContext.from_status_changed(data, profile)
            await lifecycle.enroll(uow, store, data.lead_id, context, envelope)
        elif data.to_status in ENDS_NURTURE or data.category in ENDS_NURTURE:
            await lifecycle.end_active(
                uow.conn, data.lead_id, EnrollmentStatus.CONVERTED, f"lead is {data.to_status}"
            )

    async def on_disqualified(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
        """qualification: lead.disqualified (enroll if nurturable, else archive with the reason)."""
        assert isinstance(data, LeadDisqualified)
        await leads.fill_profile(uow.conn, data.lead_id, data.profile)
        decision = should_archive(data.reason, data.nurturable)
        if decision is not None:
            await lifecycle.archive(uow.conn, data.lead_id, decision.reason.value, decision.explanation)
            return
        await lifecycle.enroll(uow, store, data.lead_id, LeadContext.from_disqualified(data), envelope)

    async def on_profile(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
        """intake: lead.captured and lead.updated carry the profile nurture writes to."""
        assert isinstance(data, LeadCaptured | LeadUpdated)
        await leads.record_profile(uow.conn, data.lead_id, data.profile)

    async def on_engaged(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
        """intake: lead.engaged adds up on the active enrollment."""
        assert isinstance(data, LeadEngaged)
        await lifecycle.engage(uow, store, data, envelope)

    async def on_consent(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
        """intake: lead.consent_changed is recorded; an email opt-out stops every touch."""
        assert isinstance(data, LeadConsentChanged)
        await lifecycle.change_consent(uow, data)

    async def on_lost(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
        """opportunity: opportunity.lost takes the lead to win-back."""
        assert isinstance(data, OpportunityLost)
        profile = await lifecycle.profile_of(uow.conn, data.lead_id)
        context = LeadContext.from_opportunity_lost(data, profile)
        await lifecycle.enroll(uow, store, data.lead_id, context, envelope)

    async def on_converted(uow: UnitOfWork, envelope: Envelope, data: Any) -> None:
        """opportunity: lead.converted ends nurture."""
        assert isinstance(data, LeadConverted)
        await lifecycle.end_active(uow.conn, data.lead_id, EnrollmentStatus.CONVERTED, "lead converted")

    qualification: dict[str, Handler] = {
        LeadStatusChanged.event_type: on_status_changed,
        LeadDisqualified.event_type: on_disqualified,
    }
    intake: dict[str, Handler] = {
        LeadCaptured.event_type: on_profile,
        LeadUpdated.event_type: on_profile,
        LeadEngaged.event_type: on_engaged,
        LeadConsentChanged.event_type: on_consent,
    }
    opportunity: dict[str, Handler] = {
        OpportunityLost.event_type: on_lost,
        LeadConverted.event_type: on_converted,
    }
    return [
        Subscription(name="qualification", topics=(topics.QUALIFICATION_EVENTS,), handlers=qualification),
        Subscription(name="intake", topics=(topics.INTAKE_EVENTS,), handlers=intake),
        Subscription(name="opportunity", topics=(topics.OPPORTUNITY_EVENTS,), handlers=opportunity),
    ]
