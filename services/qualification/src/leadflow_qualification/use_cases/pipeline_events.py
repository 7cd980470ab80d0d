"""React to opportunity and nurture: converted, requalification requested, nurture exhausted."""

from __future__ import annotations

from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.adapters.repository import LeadRow
from leadflow_qualification.domain.statuses import BaseCategory, TransitionNotAllowed
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases.judging import judge, move
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


async def lead_converted(uow: UnitOfWork, event: LeadConverted, envelope: Envelope) -> None:
    """Opportunity made the lead a contact: the lead is converted."""
    lead = await repo.lock_lead(uow.conn, event.lead_id)
    if lead is None:
        raise Reject(f"converted lead {event.lead_id} is unknown to qualification")
    if lead.category == BaseCategory.CONVERTED:
        return
    await _convert(uow, await cfg.load(uow.conn), lead, event, envelope, Writes(uow.conn))


async def leads_converted(uow: UnitOfWork, items: list[tuple[Envelope, LeadConverted]]) -> None:
    """Many conversions at once, with the effect of lead_converted on each in turn, in a few statements."""
    found = await repo.lock_leads(uow.conn, [event.lead_id for _, event in items])
    leads = {lead.id: lead for lead in found}
    config = await cfg.load(uow.conn)
    writes = BatchedWrites(uow.conn)
    for envelope, event in items:
        lead = leads.get(event.lead_id)
        if lead is None:
            # The whole group is replayed one by one, and only this conversion is dead-lettered.
            raise Reject(f"converted lead {event.lead_id} is unknown to qualification")
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
    uow: UnitOfWork, event: LeadRequalificationRequested, envelope: Envelope
) -> None:
    """Nurture asks for a new judgement: a nurtured or archived lead re-opens unless still unqualified."""
    lead = await repo.lock_lead(uow.conn, event.lead_id)
    if lead is None or lead.merged_into is not None:
        raise Reject(f"lead {event.lead_id} to requalify is unknown to qualification (or merged)")
    if lead.category == BaseCategory.CONVERTED:
        return
    if lead.manual_override:
        await repo.set_override(uow.conn, lead.id, False)
        lead.manual_override = False
    why = f"requalification requested: {event.reason}" + (f" ({event.trigger})" if event.trigger else "")
    await judge(uow, await cfg.load(uow.conn), lead, envelope, cause=why, progress=True, requalify=True)


async def nurture_exhausted(uow: UnitOfWork, event: NurtureExhausted, envelope: Envelope) -> None:
    """A track ended without engagement and nothing follows: the lead is archived."""
    if event.next is not ExhaustedNext.ARCHIVE:
        return
    lead = await repo.lock_lead(uow.conn, event.lead_id)
    if lead is None or lead.category not in (BaseCategory.NURTURING, BaseCategory.UNQUALIFIED):
        return
    config = await cfg.load(uow.conn)
    await move(
        uow,
        config,
        lead,
        config.catalog.default_for(BaseCategory.ARCHIVED).name,
        reason=f"nurture track {event.track} exhausted",
        actor="rule:nurture.exhausted",
        causation=envelope,
    )
