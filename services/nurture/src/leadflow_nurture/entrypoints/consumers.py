"""Kafka entrypoints of nurture.

Each handler takes a list of events about distinct leads, so the consumer can hand it a whole group
in one call (a few statements for the lot); a single message is a list of one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from leadflow_nurture.adapters import enrollments, leads
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.consent import from_intake
from leadflow_nurture.domain.enrollment import EnrollmentStatus, ends_nurture, spared_by_status_change
from leadflow_nurture.domain.matching import LeadContext, should_archive
from leadflow_nurture.use_cases import consent, erasure, lifecycle
from leadflow_nurture.use_cases.lifecycle import Enrollee
from leadflow_shared.consumer import Events, On, Subscription, each
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    EventData,
    LeadCaptured,
    LeadConsentChanged,
    LeadConverted,
    LeadDisqualified,
    LeadEngaged,
    LeadStatusChanged,
    LeadUnmerged,
    LeadUpdated,
    OpportunityLost,
    PersonErasureRequested,
)
from leadflow_shared.uow import UnitOfWork

NURTURING = "nurturing"
ARCHIVED = "archived"

E = TypeVar("E", bound=EventData)


def subscriptions(store: TrackStore) -> list[Subscription]:
    """What nurture consumes; enrollments go by the tracks loaded for their batch."""

    async def on_status_changed(uow: UnitOfWork, items: Events[LeadStatusChanged]) -> None:
        """qualification: lead.status_changed (nurturing enrolls; qualified or converted ends nurture)."""
        changes = [data for _, data in items]
        await leads.record_statuses(uow.conn, [(c.lead_id, c.to_status, c.category) for c in changes])
        # A lead qualification brought back (new facts, an unmerge, a reopening) is no longer archived.
        await enrollments.leave_archive(
            uow.conn, [c.lead_id for c in changes if c.category != ARCHIVED and c.from_status is not None]
        )
        ending = [c for c in changes if c.to_status != NURTURING and ends_nurture(c.to_status, c.category)]
        await lifecycle.end_active_many(
            uow.conn,
            EnrollmentStatus.CONVERTED,
            [(c.lead_id, f"lead is {c.to_status}") for c in ending],
            sparing={
                c.lead_id: spared
                for c in ending
                if (spared := spared_by_status_change(c.from_status)) is not None
            },
        )
        nurturing = [
            (envelope, c) for (envelope, _), c in zip(items, changes, strict=True) if c.to_status == NURTURING
        ]
        if not nurturing:
            return
        profiles = await leads.profiles_of(uow.conn, [c.lead_id for _, c in nurturing])
        await lifecycle.enroll_many(
            uow,
            await store.load(uow.conn),
            [
                Enrollee(c.lead_id, LeadContext.from_status_changed(c, profiles.get(c.lead_id)), envelope)
                for envelope, c in nurturing
            ],
        )

    async def on_disqualified(uow: UnitOfWork, events: Events[LeadDisqualified]) -> None:
        """qualification: lead.disqualified (enroll if nurturable, else archive with the reason)."""
        await leads.record_profiles(
            uow.conn, [(event.lead_id, event.profile) for _, event in events], fill=True
        )
        decisions = [should_archive(event.reason, event.nurturable) for _, event in events]
        await lifecycle.archive_many(
            uow.conn,
            [
                (event.lead_id, decision.reason.value, decision.explanation)
                for (_, event), decision in zip(events, decisions, strict=True)
                if decision is not None
            ],
        )
        await lifecycle.enroll_many(
            uow,
            await store.load(uow.conn),
            [
                Enrollee(event.lead_id, LeadContext.from_disqualified(event), envelope)
                for (envelope, event), decision in zip(events, decisions, strict=True)
                if decision is None
            ],
        )

    async def on_profile(uow: UnitOfWork, items: Events[LeadCaptured | LeadUpdated | LeadUnmerged]) -> None:
        """intake: lead.captured, lead.updated and lead.unmerged carry the profiles nurture writes to."""
        profiles = []
        for _, data in items:
            profiles.append((data.lead_id, data.profile))
            if isinstance(data, LeadUnmerged):
                # Both leads of an undone merge: each keeps its own records here, only the profiles change.
                profiles.append((data.survivor_id, data.survivor_profile))
        await leads.record_profiles(uow.conn, profiles)

    async def on_converted(uow: UnitOfWork, events: Events[LeadConverted]) -> None:
        """opportunity: lead.converted ends nurture."""
        await lifecycle.end_active_many(
            uow.conn, EnrollmentStatus.CONVERTED, [(event.lead_id, "lead converted") for _, event in events]
        )

    async def on_engaged(uow: UnitOfWork, envelope: Envelope, data: LeadEngaged) -> None:
        """intake: lead.engaged adds up on the active enrollment."""
        await lifecycle.engage(uow, store, data, envelope)

    async def on_consent(uow: UnitOfWork, envelope: Envelope, data: LeadConsentChanged) -> None:
        """intake: lead.consent_changed is recorded; an email opt-out stops every touch."""
        await consent.record(uow, from_intake(data, lifecycle.now()), envelope)

    async def on_lost(uow: UnitOfWork, envelope: Envelope, data: OpportunityLost) -> None:
        """opportunity: opportunity.lost takes the lead to win-back."""
        profile = await leads.profile_of(uow.conn, data.lead_id)
        context = LeadContext.from_opportunity_lost(data, profile)
        await lifecycle.enroll(uow, await store.load(uow.conn), data.lead_id, context, envelope)

    async def on_erasure_requested(uow: UnitOfWork, envelope: Envelope, data: PersonErasureRequested) -> None:
        """intake: person.erasure_requested erases nurture's part and confirms."""
        await erasure.person_erasure_requested(uow, data, envelope)

    return [
        Subscription(
            name="qualification",
            topics=(topics.QUALIFICATION_EVENTS,),
            on=(
                On(LeadStatusChanged, lead_by_lead(on_status_changed)),
                On(LeadDisqualified, lead_by_lead(on_disqualified)),
            ),
        ),
        Subscription(
            name="intake",
            topics=(topics.INTAKE_EVENTS, topics.INTAKE_ERASURES),
            on=(
                On(LeadCaptured, lead_by_lead(on_profile)),
                On(LeadUpdated, lead_by_lead(on_profile)),
                On(LeadUnmerged, lead_by_lead(on_profile)),
                On(LeadEngaged, each(on_engaged)),
                On(LeadConsentChanged, each(on_consent)),
                On(PersonErasureRequested, each(on_erasure_requested)),
            ),
        ),
        Subscription(
            name="opportunity",
            topics=(topics.OPPORTUNITY_EVENTS,),
            on=(On(LeadConverted, lead_by_lead(on_converted)), On(OpportunityLost, each(on_lost))),
        ),
    ]


def lead_by_lead(
    handle: Callable[[UnitOfWork, Events[E]], Awaitable[None]],
) -> Callable[[UnitOfWork, Events[E]], Awaitable[None]]:
    """All at once when the leads are distinct, else each in turn, so one lead's events keep their order."""

    async def handler(uow: UnitOfWork, items: Events[E]) -> None:
        if len({data.subject() for _, data in items}) == len(items):
            await handle(uow, items)
            return
        for item in items:
            await handle(uow, [item])

    return handler
