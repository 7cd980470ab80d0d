"""React to opportunity and nurture: converted, requalification requested, nurture exhausted."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.adapters.repository import LeadRow
from leadflow_qualification.domain.statuses import BaseCategory, TransitionNotAllowed
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases.judging import judge, move, reopen_by_hand
from leadflow_qualification.use_cases.writes import BatchedWrites, Writes
from leadflow_shared.consumer import Reject
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    ExhaustedNext,
    LeadConverted,
    LeadRequalificationRequested,
    NurtureExhausted,
)
from leadflow_shared.uow import UnitOfWork


async def lead_converted(
    uow: UnitOfWork, config: cfg.Config, event: LeadConverted, envelope: Envelope
) -> None:
    """Opportunity made the lead a contact: the lead is converted."""
    lead = await repo.lock_lead(uow.conn, event.lead_id)
    if lead is None:
        raise Reject(f"converted lead {event.lead_id} is unknown to qualification", kind="unknown_lead")
    if lead.category == BaseCategory.CONVERTED:
        return
    await _convert(uow, config, lead, event, envelope, Writes(uow.conn))


async def leads_converted(
    uow: UnitOfWork, config: cfg.Config, items: Sequence[tuple[Envelope, LeadConverted]]
) -> None:
    """Many conversions at once, with the effect of lead_converted on each in turn, in a few statements."""
    found = await repo.lock_leads(uow.conn, [event.lead_id for _, event in items])
    leads = {lead.id: lead for lead in found}
    writes = BatchedWrites(uow.conn)
    for envelope, event in items:
        lead = leads.get(event.lead_id)
        if lead is None:
            # The whole group is replayed one by one, and only this conversion is dead-lettered.
            raise Reject(f"converted lead {event.lead_id} is unknown to qualification", kind="unknown_lead")
        if lead.category != BaseCategory.CONVERTED:
            await _convert(uow, config, lead, event, envelope, writes)
    await writes.flush()


async def _convert(
    uow: UnitOfWork,
    config: cfg.Config,
    lead: LeadRow,
    event: LeadConverted,
    envelope: Envelope,
    writes: Writes,
) -> None:
    target = config.catalog.default_for(BaseCategory.CONVERTED).name
    try:
        await move(
            uow,
            config,
            lead,
            target,
            reason=f"converted into contact {event.contact_id} of account {event.account_id}",
            actor="rule:opportunity.converted",
            causation=envelope,
            writes=writes,
        )
    except TransitionNotAllowed as error:
        raise Reject(str(error)) from None


async def requalification_requested(
    uow: UnitOfWork, config: cfg.Config, event: LeadRequalificationRequested, envelope: Envelope
) -> None:
    """Nurture asks for a new judgement: a nurtured or archived lead re-opens unless still unqualified."""
    lead = await repo.lock_lead(uow.conn, event.lead_id)
    if lead is None or lead.merged_into is not None:
        raise Reject(_unknown_to_requalify(event), kind="unknown_lead")
    if lead.category == BaseCategory.CONVERTED:
        return
    if event.actor is not None:
        await reopen_by_hand(uow, config, lead, envelope, actor=event.actor, reason=event.reason)
        return
    if lead.manual_override:
        await repo.set_override(uow.conn, lead.id, False)
        lead.manual_override = False
    await judge(uow, config, lead, envelope, cause=_requalify(event), progress=True, requalify=True)


async def requalifications_requested(
    uow: UnitOfWork, config: cfg.Config, items: Sequence[tuple[Envelope, LeadRequalificationRequested]]
) -> None:
    """Many requests at once, with the effect of requalification_requested on each in turn."""
    if any(event.actor is not None for _, event in items):
        # A person's reopening is rare: the group goes one by one, in order.
        for envelope, event in items:
            await requalification_requested(uow, config, event, envelope)
        return
    found = await repo.lock_leads(uow.conn, [event.lead_id for _, event in items])
    leads = {lead.id: lead for lead in found if lead.merged_into is None}
    for _, event in items:
        if event.lead_id not in leads:
            # The whole group is replayed one by one, and only this request is dead-lettered.
            raise Reject(_unknown_to_requalify(event), kind="unknown_lead")
    writes = BatchedWrites(uow.conn)
    await writes.load_activities(leads)
    overridden: list[UUID] = []
    for envelope, event in items:
        lead = leads[event.lead_id]
        if lead.category == BaseCategory.CONVERTED:
            continue
        if lead.manual_override:
            overridden.append(lead.id)
            lead.manual_override = False
        await judge(
            uow, config, lead, envelope, cause=_requalify(event), progress=True, requalify=True, writes=writes
        )
    if overridden:
        await repo.set_overrides(uow.conn, overridden, False)
    await writes.flush()


def _requalify(event: LeadRequalificationRequested) -> str:
    return f"requalification requested: {event.reason}" + (f" ({event.trigger})" if event.trigger else "")


def _unknown_to_requalify(event: LeadRequalificationRequested) -> str:
    return f"lead {event.lead_id} to requalify is unknown to qualification (or merged)"


def _unknown_exhausted(event: NurtureExhausted) -> str:
    # Nurture enrolls only leads qualification told it about: such a lead was never captured here.
    return f"lead {event.lead_id} whose nurture track ended is unknown to qualification"


_EXHAUSTIBLE = (BaseCategory.NURTURING, BaseCategory.UNQUALIFIED)


async def nurture_exhausted(
    uow: UnitOfWork, config: cfg.Config, event: NurtureExhausted, envelope: Envelope
) -> None:
    """A track ended without engagement and nothing follows: the lead is archived."""
    if event.next is not ExhaustedNext.ARCHIVE:
        return
    lead = await repo.lock_lead(uow.conn, event.lead_id)
    if lead is None:
        raise Reject(_unknown_exhausted(event), kind="unknown_lead")
    if lead.category not in _EXHAUSTIBLE:
        return
    await _archive(uow, config, lead, event, envelope, Writes(uow.conn))


async def nurtures_exhausted(
    uow: UnitOfWork, config: cfg.Config, items: Sequence[tuple[Envelope, NurtureExhausted]]
) -> None:
    """Many ended tracks at once, with the effect of nurture_exhausted on each in turn."""
    archiving = [(envelope, event) for envelope, event in items if event.next is ExhaustedNext.ARCHIVE]
    if not archiving:
        return
    found = await repo.lock_leads(uow.conn, [event.lead_id for _, event in archiving])
    leads = {lead.id: lead for lead in found}
    for _, event in archiving:
        if event.lead_id not in leads:
            # The whole group is replayed one by one, and only this one is dead-lettered.
            raise Reject(_unknown_exhausted(event), kind="unknown_lead")
    writes = BatchedWrites(uow.conn)
    for envelope, event in archiving:
        lead = leads[event.lead_id]
        if lead.category in _EXHAUSTIBLE:
            await _archive(uow, config, lead, event, envelope, writes)
    await writes.flush()


async def _archive(
    uow: UnitOfWork,
    config: cfg.Config,
    lead: LeadRow,
    event: NurtureExhausted,
    envelope: Envelope,
    writes: Writes,
) -> None:
    await move(
        uow,
        config,
        lead,
        config.catalog.default_for(BaseCategory.ARCHIVED).name,
        reason=f"nurture track {event.track} exhausted",
        actor="rule:nurture.exhausted",
        causation=envelope,
        writes=writes,
    )
