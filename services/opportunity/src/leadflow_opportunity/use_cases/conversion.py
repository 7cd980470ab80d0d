"""Converting qualified leads, and opening opportunities when the criteria hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from leadflow_opportunity.adapters import config_store
from leadflow_opportunity.adapters import repository as repo
from leadflow_opportunity.adapters.config_store import Configuration
from leadflow_opportunity.domain.criteria import (
    ContactSignals,
    CriteriaResult,
    SalesSignals,
    decide_opportunity,
    signals_from_qualified,
)
from leadflow_opportunity.domain.forecast import campaign_key
from leadflow_opportunity.domain.matching import account_keys, contact_key, match_account
from leadflow_opportunity.domain.stages import open_opportunity
from leadflow_shared.consumer import Conflict
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import EventData, LeadConverted, LeadQualified, OpportunityOpened
from leadflow_shared.contracts.lead import Campaign
from leadflow_shared.uow import UnitOfWork


@dataclass(frozen=True)
class ConversionOutcome:
    """Which account and contact a lead became, and the opportunity opened, if any."""

    account_id: UUID
    contact_id: UUID
    opportunity_id: UUID | None
    criteria: CriteriaResult


def criteria_check_json(result: CriteriaResult) -> dict[str, Any]:
    """The criteria check as stored on the contact and shown by the API."""
    return {
        "criteria_version": result.criteria_version,
        "met": result.met,
        "unmet": [c.value for c in result.unmet],
        "conditions": [
            {
                "condition": r.condition.value,
                "value": None
                if r.value is None
                else str(r.value)
                if not isinstance(r.value, bool)
                else r.value,
                "required": r.required,
                "held": r.held,
            }
            for r in result.conditions
        ],
    }


async def _find_or_create_account(uow: UnitOfWork, event: LeadQualified) -> UUID:
    keys = account_keys(event.profile)
    match = match_account(keys, await repo.account_candidates(uow.conn, keys))
    if match.account_id is not None:
        return match.account_id
    account_id = uuid4()
    if not await repo.insert_account(uow.conn, account_id, keys):
        # Another conversion created this company's account a moment ago: the retry finds it.
        raise Conflict(f"account for {keys.display_name!r} was created concurrently")
    return account_id


def _person(contact: dict[str, Any]) -> str:
    name = " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)
    return name or contact.get("email") or "contact"


async def _consider_opportunity(
    uow: UnitOfWork,
    config: Configuration,
    contact: dict[str, Any],
    signals: ContactSignals,
    decision_today: date,
    now: datetime,
) -> tuple[UUID | None, CriteriaResult, list[EventData]]:
    decision = decide_opportunity(config.criteria, signals, decision_today)
    if not decision.open:
        return None, decision.result, []
    assert decision.amount is not None
    assert decision.close_date is not None
    campaign = Campaign.model_validate(contact["campaign"] or {})
    state = open_opportunity(
        opportunity_id=uuid4(),
        lead_id=contact["lead_id"],
        account_id=contact["account_id"],
        contact_id=contact["id"],
        name=f"{contact['account_name']}: {_person(contact)}",
        amount=decision.amount.amount,
        close_date=decision.close_date,
        stages=config.stages,
        opened_at=now,
        source_system=contact["source_system"],
        campaign=contact["campaign_key"],
    )
    opened = await repo.insert_opportunity(
        uow.conn,
        repo.NewOpportunity(
            state=state,
            amount_basis=decision.amount.basis.value,
            owner=contact["owner"],
            campaign=campaign.model_dump(mode="json", exclude_none=True),
            criteria_version=config.criteria.version,
            stage_set_version=config.stages.version,
        ),
    )
    if not opened:
        return None, decision.result, []
    event = OpportunityOpened(
        opportunity_id=state.opportunity_id,
        lead_id=state.lead_id,
        account_id=state.account_id,
        contact_id=state.contact_id,
        name=state.name,
        amount=state.amount,
        close_date=state.close_date,
        stage=state.stage,
        source_system=state.source_system,
        campaign=campaign,
    )
    return state.opportunity_id, decision.result, [event]


async def convert_qualified(
    uow: UnitOfWork,
    envelope: Envelope | None,
    event: LeadQualified,
    now: datetime,
    config: Configuration | None = None,
) -> ConversionOutcome:
    """Find or create the account and contact, emit lead.converted, and open an opportunity if due.

    A caller converting many leads in one transaction passes the configuration it read once for all.
    """
    conn = uow.conn
    if config is None:
        config = await config_store.current(conn)
    email_key = contact_key(event.profile.email)
    contact = await repo.contact_of_lead_or_email(conn, event.lead_id, email_key)
    if contact is None:
        account_id = await _find_or_create_account(uow, event)
        contact = await repo.insert_contact(conn, uuid4(), account_id, email_key, event.lead_id)
    today = now.date()
    signals = ContactSignals.model_validate(contact["signals"] or {}).merged_with(
        signals_from_qualified(event, today)
    )
    profile = event.profile
    key = campaign_key(event.campaign)
    contact = {
        **contact,
        "lead_id": event.lead_id,
        "first_name": profile.first_name or contact["first_name"],
        "last_name": profile.last_name or contact["last_name"],
        "email": profile.email or contact["email"],
        "owner": event.owner or contact["owner"],
        "source_system": contact["source_system"] or event.source_system,
        "campaign": contact["campaign"] or event.campaign.model_dump(mode="json", exclude_none=True),
        "campaign_key": contact["campaign_key"] or key,
    }
    opportunity_id, result, opened = await _consider_opportunity(uow, config, contact, signals, today, now)
    await repo.update_contact(
        conn,
        contact["id"],
        repo.ContactUpdate(
            lead_id=event.lead_id,
            signals=signals.model_dump(mode="json", exclude_none=True),
            criteria_check=criteria_check_json(result),
            first_name=profile.first_name,
            last_name=profile.last_name,
            email=profile.email,
            phone=profile.phone,
            job_title=profile.job_title,
            owner=event.owner,
            source_system=event.source_system,
            campaign=event.campaign.model_dump(mode="json", exclude_none=True),
            campaign_key=key,
        ),
    )
    await repo.link_lead(conn, event.lead_id, contact["account_id"], contact["id"], event.source_system, key)
    converted = LeadConverted(
        lead_id=event.lead_id, account_id=contact["account_id"], contact_id=contact["id"]
    )
    await uow.outbox.emit_many([(converted, envelope), *((e, envelope) for e in opened)])
    return ConversionOutcome(contact["account_id"], contact["id"], opportunity_id, result)


class ContactNotFound(LookupError):
    """No contact has that id."""


async def record_sales_signals(
    uow: UnitOfWork, contact_id: UUID, report: SalesSignals, now: datetime
) -> ConversionOutcome:
    """Lay what sales learned over the contact's signals and open an opportunity if the criteria now hold."""
    conn = uow.conn
    contact = await repo.contact_for_update(conn, contact_id)
    if contact is None:
        raise ContactNotFound(f"no contact {contact_id}")
    config = await config_store.current(conn)
    today = now.date()
    signals = ContactSignals.model_validate(contact["signals"] or {}).merged_with(report.to_signals(today))
    opportunity_id, result, opened = await _consider_opportunity(uow, config, contact, signals, today, now)
    await repo.update_contact(
        conn,
        contact_id,
        repo.ContactUpdate(
            lead_id=contact["lead_id"],
            signals=signals.model_dump(mode="json", exclude_none=True),
            criteria_check=criteria_check_json(result),
        ),
    )
    if opened:
        await uow.outbox.emit_many([(e, None) for e in opened])
    return ConversionOutcome(contact["account_id"], contact_id, opportunity_id, result)
