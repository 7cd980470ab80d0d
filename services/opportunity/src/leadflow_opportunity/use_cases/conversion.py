"""Converting qualified leads, and opening opportunities when the criteria hold."""

from __future__ import annotations

from bisect import insort
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from leadflow_opportunity.adapters import repository as repo
from leadflow_opportunity.adapters.config_store import Configuration
from leadflow_opportunity.domain.criteria import (
    ContactSignals,
    CriteriaResult,
    OpportunityDecision,
    SalesSignals,
    decide_opportunity,
    signals_from_qualified,
)
from leadflow_opportunity.domain.forecast import campaign_key
from leadflow_opportunity.domain.matching import (
    AccountCandidate,
    AccountKeys,
    account_keys,
    contact_key,
    match_account,
)
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


def _opening(
    config: Configuration, contact: dict[str, Any], decision: OpportunityDecision, now: datetime
) -> tuple[repo.NewOpportunity, OpportunityOpened] | None:
    """The opportunity the decision opens for the contact, and its event; None when it opens none."""
    if not decision.open:
        return None
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
    new = repo.NewOpportunity(
        state=state,
        amount_basis=decision.amount.basis.value,
        owner=contact["owner"],
        campaign=campaign.model_dump(mode="json", exclude_none=True),
        criteria_version=config.criteria.version,
        stage_set_version=config.stages.version,
    )
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
    return new, event


async def _consider_opportunity(
    uow: UnitOfWork,
    config: Configuration,
    contact: dict[str, Any],
    signals: ContactSignals,
    decision_today: date,
    now: datetime,
) -> tuple[UUID | None, CriteriaResult, list[EventData]]:
    decision = decide_opportunity(config.criteria, signals, decision_today)
    opening = _opening(config, contact, decision, now)
    if opening is None or not await repo.insert_opportunity(uow.conn, opening[0]):
        return None, decision.result, []
    new, event = opening
    return new.state.opportunity_id, decision.result, [event]


@dataclass(frozen=True)
class _Conversion:
    """One lead.qualified laid over its contact: the contact as the lead sees it (newer details over the
    stored ones, the first source and campaign kept) and the contact's signals merged with the lead's."""

    event: LeadQualified
    contact: dict[str, Any]
    signals: ContactSignals

    @classmethod
    def of(cls, event: LeadQualified, contact: dict[str, Any], news: ContactSignals) -> _Conversion:
        """The conversion of the lead into the contact as found or created."""
        profile = event.profile
        seen = {
            **contact,
            "lead_id": event.lead_id,
            "first_name": profile.first_name or contact["first_name"],
            "last_name": profile.last_name or contact["last_name"],
            "email": profile.email or contact["email"],
            "owner": event.owner or contact["owner"],
            "source_system": contact["source_system"] or event.source_system,
            "campaign": contact["campaign"] or event.campaign.model_dump(mode="json", exclude_none=True),
            "campaign_key": contact["campaign_key"] or campaign_key(event.campaign),
        }
        signals = ContactSignals.model_validate(contact["signals"] or {}).merged_with(news)
        return cls(event, seen, signals)

    def update(self, result: CriteriaResult) -> tuple[UUID, repo.ContactUpdate]:
        """What the conversion writes onto the contact, with the criteria check it led to."""
        event, profile = self.event, self.event.profile
        return self.contact["id"], repo.ContactUpdate(
            lead_id=event.lead_id,
            signals=self.signals.model_dump(mode="json", exclude_none=True),
            criteria_check=criteria_check_json(result),
            first_name=profile.first_name,
            last_name=profile.last_name,
            email=profile.email,
            phone=profile.phone,
            job_title=profile.job_title,
            owner=event.owner,
            source_system=event.source_system,
            campaign=event.campaign.model_dump(mode="json", exclude_none=True),
            campaign_key=campaign_key(event.campaign),
        )

    def converted(self) -> repo.ConvertedLead:
        """The lead's link to its contact."""
        event, contact = self.event, self.contact
        return repo.ConvertedLead(
            event.lead_id,
            contact["account_id"],
            contact["id"],
            event.source_system,
            campaign_key(event.campaign),
        )

    def event_converted(self) -> LeadConverted:
        """lead.converted of the lead."""
        return LeadConverted(
            lead_id=self.event.lead_id, account_id=self.contact["account_id"], contact_id=self.contact["id"]
        )


async def convert_qualified(
    uow: UnitOfWork, config: Configuration, envelope: Envelope | None, event: LeadQualified, now: datetime
) -> ConversionOutcome:
    """Find or create the account and contact, emit lead.converted, and open an opportunity if due."""
    conn = uow.conn
    today = now.date()
    news = signals_from_qualified(event, today)
    email_key = contact_key(event.profile.email)
    contact = await repo.contact_of_lead_or_email(conn, event.lead_id, email_key)
    if contact is None:
        account_id = await _find_or_create_account(uow, event)
        contact = await repo.insert_contact(conn, uuid4(), account_id, email_key, event.lead_id)
    conversion = _Conversion.of(event, contact, news)
    opportunity_id, result, opened = await _consider_opportunity(
        uow, config, conversion.contact, conversion.signals, today, now
    )
    await repo.update_contact(conn, *conversion.update(result))
    await repo.link_lead(conn, *conversion.converted())
    await uow.outbox.emit_many([(conversion.event_converted(), envelope), *((e, envelope) for e in opened)])
    return ConversionOutcome(contact["account_id"], contact["id"], opportunity_id, result)


@dataclass(frozen=True)
class _Item:
    """One lead.qualified of a group, with the keys it is looked up by."""

    envelope: Envelope | None
    event: LeadQualified
    email_key: str | None
    keys: AccountKeys
    news: ContactSignals

    def claims(self, contact: dict[str, Any] | None) -> set[str]:
        """What no other item of its round may touch: its lead, its email and the contact found for it."""
        claims = {f"lead:{self.event.lead_id}"}
        if self.email_key is not None:
            claims.add(f"email:{self.email_key}")
        if contact is not None:
            claims.add(f"contact:{contact['id']}")
        return claims

    def companies(self) -> set[str]:
        """The account keys by which it may find, or create, an account."""
        domain = {f"domain:{self.keys.domain}"} if self.keys.domain else set()
        return domain | ({f"name:{self.keys.name_key}"} if self.keys.name_key else set())


Found = dict[int, dict[str, Any]]
Done = dict[int, tuple[ConversionOutcome, list[EventData]]]


async def convert_many_qualified(
    uow: UnitOfWork,
    config: Configuration,
    items: Sequence[tuple[Envelope | None, LeadQualified]],
    now: datetime,
) -> list[ConversionOutcome]:
    """Convert a group of lead.qualified in a few statements, with the results and events of calling
    convert_qualified for each in turn.

    The group goes in rounds of a handful of statements. An item waits for a later round when an earlier
    item not yet converted has its lead, its email or the contact found for it, or when an item that waits
    before it has its company: so the items of a round touch distinct contacts and none looks up what
    another creates, except accounts, which are matched in memory in the group's order, each item seeing
    the accounts created before it. Events are queued in the group's order. A refused item
    (ValidationError) raises before anything is written: the consumer then replays the group one by one.
    """
    conn = uow.conn
    today = now.date()
    todo = [
        _Item(
            envelope,
            event,
            contact_key(event.profile.email),
            account_keys(event.profile),
            signals_from_qualified(event, today),
        )
        for envelope, event in items
    ]
    done: Done = {}
    waiting = list(range(len(todo)))
    while waiting:
        wanted = [(todo[i].event.lead_id, todo[i].email_key) for i in waiting]
        found = {waiting[at]: c for at, c in (await repo.contacts_of_leads_or_emails(conn, wanted)).items()}
        ready, waiting = _next_round(todo, waiting, found)
        done.update(await _convert_round(conn, config, [(i, todo[i]) for i in ready], found, now))
    await uow.outbox.emit_many([(e, item.envelope) for i, item in enumerate(todo) for e in done[i][1]])
    return [done[i][0] for i in range(len(todo))]


def _next_round(todo: list[_Item], waiting: list[int], found: Found) -> tuple[list[int], list[int]]:
    """The items that can go together now, and those that must wait for an earlier item that waits."""
    taken: set[str] = set()
    companies_waiting: set[str] = set()
    ready: list[int] = []
    later: list[int] = []
    for i in waiting:
        claims = todo[i].claims(found.get(i))
        companies = todo[i].companies()
        if claims & taken or companies & companies_waiting:
            later.append(i)
            # Whoever shares its company must see the account it finds or creates: it waits too.
            companies_waiting |= companies
        else:
            ready.append(i)
        taken |= claims
    return ready, later


async def _convert_round(
    conn: asyncpg.Connection,
    config: Configuration,
    items: list[tuple[int, _Item]],
    found: Found,
    now: datetime,
) -> Done:
    """Convert items that touch distinct contacts: accounts, contacts, opportunities, then the updates."""
    contacts = {i: found[i] for i, _ in items if i in found}
    new = [(i, item) for i, item in items if i not in found]
    if new:
        accounts = await _find_or_create_accounts(conn, [item.keys for _, item in new])
        created = await repo.insert_contacts(
            conn,
            [
                (uuid4(), account_id, item.email_key, item.event.lead_id)
                for (_, item), account_id in zip(new, accounts, strict=True)
            ],
        )
        for (i, _), contact in zip(new, created, strict=True):
            if contact["account_name"] is None:
                # Taken from a concurrent writer whose account this statement's snapshot does not see yet.
                raise Conflict(f"contact {contact['email_key']!r} was created concurrently")
            contacts[i] = contact
    today = now.date()
    conversions = {i: _Conversion.of(item.event, contacts[i], item.news) for i, item in items}
    decisions = {i: decide_opportunity(config.criteria, c.signals, today) for i, c in conversions.items()}
    openings = {
        i: opening
        for i, c in conversions.items()
        if (opening := _opening(config, c.contact, decisions[i], now)) is not None
    }
    opened = await repo.insert_opportunities(conn, [o for o, _ in openings.values()]) if openings else set()
    await repo.record_conversions(
        conn,
        [conversions[i].update(decisions[i].result) for i, _ in items],
        [conversions[i].converted() for i, _ in items],
    )
    done: Done = {}
    for i, _ in items:
        contact = contacts[i]
        opening = openings.get(i)
        events: list[EventData] = [conversions[i].event_converted()]
        opportunity_id = None
        if opening is not None and opening[0].state.opportunity_id in opened:
            opportunity_id = opening[0].state.opportunity_id
            events.append(opening[1])
        outcome = ConversionOutcome(contact["account_id"], contact["id"], opportunity_id, decisions[i].result)
        done[i] = (outcome, events)
    return done


# Where no stored account was found, only those created here are compared, all stamped alike.
_CREATED_HERE = datetime.min.replace(tzinfo=UTC)


async def _find_or_create_accounts(conn: asyncpg.Connection, wanted: list[AccountKeys]) -> list[UUID]:
    """The account of each keys in turn, as _find_or_create_account would give one after another."""
    stored, created_at = await repo.accounts_by_keys(
        conn, [keys.domain for keys in wanted], [keys.name_key for keys in wanted]
    )
    # Oldest first, as account_candidates orders them; an account created here is stamped with the
    # transaction's start, as the database does, so it may come before one committed since.
    known = [(a.created_at, a.candidate.account_id, a.candidate, a.name_key) for a in stored]
    created: list[tuple[UUID, AccountKeys]] = []
    chosen: list[UUID] = []
    for keys in wanted:
        candidates = [
            candidate
            for _, _, candidate, name_key in known
            if (keys.domain is not None and candidate.domain == keys.domain)
            or (keys.name_key is not None and name_key == keys.name_key)
        ]
        match = match_account(keys, candidates)
        if match.account_id is None:
            account_id = uuid4()
            created.append((account_id, keys))
            candidate = AccountCandidate(account_id, keys.display_name, keys.domain)
            insort(known, (created_at or _CREATED_HERE, account_id, candidate, keys.name_key))
            chosen.append(account_id)
        else:
            chosen.append(match.account_id)
    if created and await repo.insert_accounts(conn, created) < len(created):
        # Another conversion created some of these companies' accounts a moment ago: the retry finds them.
        raise Conflict(f"{len(created)} accounts of a group, some created concurrently")
    return chosen


class ContactNotFound(LookupError):
    """No contact has that id."""


async def record_sales_signals(
    uow: UnitOfWork, config: Configuration, contact_id: UUID, report: SalesSignals, now: datetime
) -> ConversionOutcome:
    """Lay what sales learned over the contact's signals and open an opportunity if the criteria now hold."""
    conn = uow.conn
    contact = await repo.contact_for_update(conn, contact_id)
    if contact is None:
        raise ContactNotFound(f"no contact {contact_id}")
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
