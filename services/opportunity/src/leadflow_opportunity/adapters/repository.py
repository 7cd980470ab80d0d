"""Accounts, contacts, converted leads, opportunities and stage history in Postgres."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from leadflow_opportunity.domain.matching import AccountCandidate, AccountKeys
from leadflow_opportunity.domain.stages import ForecastCategory, OpportunityState, StageMove
from leadflow_shared import browsing
from leadflow_shared.db import columns

CONTACT_COLUMNS = (
    "c.id, c.account_id, c.email_key, c.lead_id, c.first_name, c.last_name, c.email, c.phone, c.job_title,"
    " c.owner, c.source_system, c.campaign, c.campaign_key, c.signals, c.criteria_check, c.created_at,"
    " c.updated_at, a.name AS account_name"
)
# The same columns with the account's name read by primary key for each row: a group's contacts joined to
# accounts may be planned as a hash of the whole table (a young table's statistics say it is tiny).
CONTACT_COLUMNS_BY_ROW = CONTACT_COLUMNS.replace(
    "a.name AS account_name", "(SELECT a.name FROM accounts a WHERE a.id = c.account_id) AS account_name"
)


async def account_candidates(conn: asyncpg.Connection, keys: AccountKeys) -> list[AccountCandidate]:
    """Accounts sharing the lead's domain or name key, oldest first."""
    rows = await conn.fetch(
        "SELECT id, name, domain FROM accounts WHERE domain = $1 OR name_key = $2 ORDER BY created_at, id",
        keys.domain,
        keys.name_key,
    )
    return [AccountCandidate(row["id"], row["name"], row["domain"]) for row in rows]


@dataclass(frozen=True)
class StoredAccount:
    """An account as stored: what matching compares, its name key and when it was created."""

    candidate: AccountCandidate
    name_key: str | None
    created_at: datetime


async def accounts_by_keys(
    conn: asyncpg.Connection, domains: Sequence[str | None], name_keys: Sequence[str | None]
) -> tuple[list[StoredAccount], datetime | None]:
    """Accounts with any of the domains or name keys, oldest first, and the transaction's now() (None
    when none was found): an account this transaction creates is stamped with that time."""
    rows = await conn.fetch(
        "SELECT id, name, domain, name_key, created_at, now() AS now FROM accounts"
        " WHERE domain = ANY($1::text[]) OR name_key = ANY($2::text[]) ORDER BY created_at, id",
        list(domains),
        list(name_keys),
    )
    stored = [
        StoredAccount(AccountCandidate(r["id"], r["name"], r["domain"]), r["name_key"], r["created_at"])
        for r in rows
    ]
    return stored, rows[0]["now"] if rows else None


async def insert_account(conn: asyncpg.Connection, account_id: UUID, keys: AccountKeys) -> bool:
    """Create an account; False when a concurrent writer took its domain or name key first."""
    inserted = await conn.fetchval(
        "INSERT INTO accounts (id, name, domain, name_key) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING RETURNING true",
        account_id,
        keys.display_name,
        keys.domain,
        keys.name_key,
    )
    return bool(inserted)


async def insert_accounts(conn: asyncpg.Connection, accounts: Sequence[tuple[UUID, AccountKeys]]) -> int:
    """Create accounts in their keys' order; answer how many were created (concurrent writers may have
    taken some domains or name keys first)."""
    rows = sorted((i, k.display_name, k.domain, k.name_key) for i, k in accounts)
    inserted = await conn.fetch(
        "INSERT INTO accounts (id, name, domain, name_key)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])"
        " ON CONFLICT DO NOTHING RETURNING id",
        *columns(sorted(rows, key=lambda r: (r[2] is None, r[2] or "", r[3] or "")), 4),
    )
    return len(inserted)


async def account_name(conn: asyncpg.Connection, account_id: UUID) -> str:
    """The account's display name."""
    name: str = await conn.fetchval("SELECT name FROM accounts WHERE id = $1", account_id)
    return name


async def contact_of_lead_or_email(
    conn: asyncpg.Connection, lead_id: UUID, email_key: str | None
) -> dict[str, Any] | None:
    """The contact this lead was converted into before, else the contact with its email; locked."""
    row = await conn.fetchrow(
        f"SELECT {CONTACT_COLUMNS} FROM contacts c JOIN accounts a ON a.id = c.account_id"
        " WHERE c.id = coalesce((SELECT contact_id FROM converted_leads WHERE lead_id = $1),"
        " (SELECT id FROM contacts WHERE email_key = $2)) FOR UPDATE OF c",
        lead_id,
        email_key,
    )
    return dict(row) if row else None


async def contacts_of_leads_or_emails(
    conn: asyncpg.Connection, wanted: Sequence[tuple[UUID, str | None]]
) -> dict[int, dict[str, Any]]:
    """For each (lead, email key) by position, the contact_of_lead_or_email finds; locked in id order."""
    rows = await conn.fetch(
        "WITH w AS MATERIALIZED (SELECT w.i, coalesce("
        " (SELECT l.contact_id FROM converted_leads l WHERE l.lead_id = w.lead_id),"
        " (SELECT x.id FROM contacts x WHERE x.email_key = w.email_key)) AS contact_id"
        " FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS w(lead_id, email_key, i))"
        f" SELECT w.i, {CONTACT_COLUMNS_BY_ROW} FROM contacts c JOIN w ON w.contact_id = c.id"
        " WHERE c.id = ANY(ARRAY(SELECT contact_id FROM w)) ORDER BY c.id FOR UPDATE OF c",
        [lead_id for lead_id, _ in wanted],
        [email_key for _, email_key in wanted],
    )
    return {row["i"] - 1: {k: v for k, v in row.items() if k != "i"} for row in rows}


async def insert_contacts(
    conn: asyncpg.Connection, contacts: Sequence[tuple[UUID, UUID, str | None, UUID]]
) -> list[dict[str, Any]]:
    """Create contacts (id, account, email key, lead) in email order, each taking the contact a concurrent
    writer created with the same email instead; answer them in the order given. Email keys must differ."""
    if not contacts:
        return []
    rows = await conn.fetch(
        "WITH c AS (INSERT INTO contacts (id, account_id, email_key, lead_id)"
        " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[])"
        " ON CONFLICT (email_key) WHERE email_key IS NOT NULL DO UPDATE SET updated_at = now()"
        " RETURNING *)"
        f" SELECT {CONTACT_COLUMNS_BY_ROW} FROM c",
        *columns(sorted(contacts, key=lambda c: (c[2] is None, c[2] or "")), 4),
    )
    by_key = {row["email_key"] or row["id"]: dict(row) for row in rows}
    return [by_key[email_key or contact_id] for contact_id, _, email_key, _ in contacts]


async def insert_contact(
    conn: asyncpg.Connection,
    contact_id: UUID,
    account_id: UUID,
    email_key: str | None,
    lead_id: UUID,
) -> dict[str, Any]:
    """Create the contact, or when a concurrent writer created one with the same email, take that one."""
    row = await conn.fetchrow(
        "WITH c AS (INSERT INTO contacts (id, account_id, email_key, lead_id) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (email_key) WHERE email_key IS NOT NULL DO UPDATE SET updated_at = now()"
        " RETURNING *)"
        f" SELECT {CONTACT_COLUMNS} FROM c JOIN accounts a ON a.id = c.account_id",
        contact_id,
        account_id,
        email_key,
        lead_id,
    )
    assert row is not None
    return dict(row)


async def contact_for_update(conn: asyncpg.Connection, contact_id: UUID) -> dict[str, Any] | None:
    """One contact, locked for this transaction."""
    row = await conn.fetchrow(
        f"SELECT {CONTACT_COLUMNS} FROM contacts c JOIN accounts a ON a.id = c.account_id"
        " WHERE c.id = $1 FOR UPDATE OF c",
        contact_id,
    )
    return dict(row) if row else None


@dataclass(frozen=True)
class ContactUpdate:
    """What a conversion or a sales report writes onto a contact."""

    lead_id: UUID
    signals: dict[str, Any]
    criteria_check: dict[str, Any]
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    job_title: str | None = None
    owner: str | None = None
    source_system: str | None = None
    campaign: dict[str, Any] | None = None
    campaign_key: str | None = None


def _contact_update_row(contact_id: UUID, update: ContactUpdate) -> tuple[Any, ...]:
    return (
        contact_id,
        update.lead_id,
        update.signals,
        update.criteria_check,
        update.first_name,
        update.last_name,
        update.email,
        update.phone,
        update.job_title,
        update.owner,
        update.source_system,
        update.campaign,
        update.campaign_key,
    )


async def update_contact(conn: asyncpg.Connection, contact_id: UUID, update: ContactUpdate) -> None:
    """Lay newer details over the contact; the first source and campaign stay (first-touch attribution)."""
    await conn.execute(
        "UPDATE contacts SET lead_id = $2, signals = $3, criteria_check = $4,"
        " first_name = coalesce($5, first_name), last_name = coalesce($6, last_name),"
        " email = coalesce($7, email), phone = coalesce($8, phone), job_title = coalesce($9, job_title),"
        " owner = coalesce($10, owner), source_system = coalesce(source_system, $11),"
        " campaign = CASE WHEN campaign = '{}'::jsonb THEN coalesce($12, campaign) ELSE campaign END,"
        " campaign_key = coalesce(campaign_key, $13), updated_at = now() WHERE id = $1",
        *_contact_update_row(contact_id, update),
    )


class ConvertedLead(NamedTuple):
    """Which account and contact a lead became, and where it came from."""

    lead_id: UUID
    account_id: UUID
    contact_id: UUID
    source_system: str | None
    campaign_key: str | None


async def link_lead(
    conn: asyncpg.Connection,
    lead_id: UUID,
    account_id: UUID,
    contact_id: UUID,
    source_system: str | None,
    campaign_key: str | None,
) -> None:
    """Remember which contact a lead became (once)."""
    await conn.execute(
        "INSERT INTO converted_leads (lead_id, account_id, contact_id, source_system, campaign_key)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (lead_id) DO NOTHING",
        lead_id,
        account_id,
        contact_id,
        source_system,
        campaign_key,
    )


async def record_conversions(
    conn: asyncpg.Connection,
    updates: Sequence[tuple[UUID, ContactUpdate]],
    converted: Sequence[ConvertedLead],
) -> None:
    """update_contact for each contact (one update each) and link_lead for each lead, in one statement."""
    await conn.execute(
        "WITH updated AS (UPDATE contacts c SET lead_id = u.lead_id, signals = u.signals,"
        " criteria_check = u.criteria_check, first_name = coalesce(u.first_name, c.first_name),"
        " last_name = coalesce(u.last_name, c.last_name), email = coalesce(u.email, c.email),"
        " phone = coalesce(u.phone, c.phone), job_title = coalesce(u.job_title, c.job_title),"
        " owner = coalesce(u.owner, c.owner), source_system = coalesce(c.source_system, u.source_system),"
        " campaign = CASE WHEN c.campaign = '{}'::jsonb THEN coalesce(u.campaign, c.campaign)"
        " ELSE c.campaign END,"
        " campaign_key = coalesce(c.campaign_key, u.campaign_key), updated_at = now()"
        " FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[], $4::jsonb[], $5::text[], $6::text[], $7::text[],"
        " $8::text[], $9::text[], $10::text[], $11::text[], $12::jsonb[], $13::text[])"
        " AS u(id, lead_id, signals, criteria_check, first_name, last_name, email, phone, job_title, owner,"
        " source_system, campaign, campaign_key)"
        # `id = ANY($1)` has the contacts looked up by primary key (see CONTACT_COLUMNS_BY_ROW).
        " WHERE c.id = ANY($1::uuid[]) AND c.id = u.id)"
        " INSERT INTO converted_leads (lead_id, account_id, contact_id, source_system, campaign_key)"
        " SELECT * FROM unnest($14::uuid[], $15::uuid[], $16::uuid[], $17::text[], $18::text[])"
        " ON CONFLICT (lead_id) DO NOTHING",
        # Rows in key order, as concurrent groups take them.
        *columns(sorted((_contact_update_row(*u) for u in updates), key=lambda row: row[0]), 13),
        *columns(sorted(converted), 5),
    )


@dataclass(frozen=True)
class NewOpportunity:
    """What is stored with a new opportunity beyond its domain state."""

    state: OpportunityState
    amount_basis: str
    owner: str | None
    campaign: dict[str, Any]
    criteria_version: int
    stage_set_version: int

    def row(self) -> tuple[Any, ...]:
        """The values of the opportunity row, in NEW_OPPORTUNITY_COLUMNS order."""
        s = self.state
        return (
            s.opportunity_id,
            s.lead_id,
            s.account_id,
            s.contact_id,
            s.name,
            s.stage,
            s.probability,
            s.forecast_category.value,
            s.amount,
            self.amount_basis,
            s.close_date,
            self.owner,
            s.source_system,
            self.campaign,
            s.campaign,
            self.criteria_version,
            self.stage_set_version,
            s.opened_at,
        )


NEW_OPPORTUNITY_COLUMNS = (
    "id, lead_id, account_id, contact_id, name, stage, probability, forecast_category, amount, amount_basis,"
    " close_date, owner, source_system, campaign, campaign_key, criteria_version, stage_set_version,"
    " opened_at"
)
# The first history row of each opportunity the statement's `o` opened.
_OPENED = (
    " RETURNING id, stage, probability, forecast_category, amount, close_date, opened_at)"
    " INSERT INTO stage_history (opportunity_id, from_stage, to_stage, probability, forecast_category,"
    " amount, close_date, changed, actor, at)"
    " SELECT o.id, NULL, o.stage, o.probability, o.forecast_category, o.amount, o.close_date,"
    " ARRAY['opened'], 'opportunity-criteria', o.opened_at FROM o"
)


async def insert_opportunity(conn: asyncpg.Connection, new: NewOpportunity) -> bool:
    """Open an opportunity and its first history row; False when the contact already has an open one."""
    inserted = await conn.fetchval(
        f"WITH o AS (INSERT INTO opportunities ({NEW_OPPORTUNITY_COLUMNS})"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        f" ON CONFLICT DO NOTHING{_OPENED} RETURNING true",
        *new.row(),
    )
    return bool(inserted)


async def insert_opportunities(conn: asyncpg.Connection, news: Sequence[NewOpportunity]) -> set[UUID]:
    """insert_opportunity for many contacts, in contact order, in one statement; answer the ids opened."""
    rows = await conn.fetch(
        f"WITH o AS (INSERT INTO opportunities ({NEW_OPPORTUNITY_COLUMNS})"
        " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[],"
        " $7::float8[], $8::text[], $9::numeric[], $10::text[], $11::date[], $12::text[], $13::text[],"
        " $14::jsonb[], $15::text[], $16::int[], $17::int[], $18::timestamptz[])"
        f" ON CONFLICT DO NOTHING{_OPENED} RETURNING opportunity_id",
        *columns(sorted((new.row() for new in news), key=lambda row: row[3]), 18),
    )
    return {row["opportunity_id"] for row in rows}


OPPORTUNITY_COLUMNS = (
    "id, lead_id, account_id, contact_id, name, stage, probability, forecast_category, amount, amount_basis,"
    " close_date, owner, source_system, campaign, campaign_key, criteria_version, stage_set_version,"
    " is_closed, is_won, lost_reason, opened_at, closed_at, updated_at"
)
STATE_COLUMNS = (
    "id, lead_id, account_id, contact_id, name, stage, probability, forecast_category, amount, close_date,"
    " opened_at, closed_at, is_closed, is_won, lost_reason, source_system, campaign_key"
)


def state_of(row: asyncpg.Record | dict[str, Any]) -> OpportunityState:
    """The domain state of an opportunity row."""
    return OpportunityState(
        opportunity_id=row["id"],
        lead_id=row["lead_id"],
        account_id=row["account_id"],
        contact_id=row["contact_id"],
        name=row["name"],
        stage=row["stage"],
        probability=row["probability"],
        forecast_category=ForecastCategory(row["forecast_category"]),
        amount=row["amount"],
        close_date=row["close_date"],
        opened_at=row["opened_at"],
        closed_at=row["closed_at"],
        is_closed=row["is_closed"],
        is_won=row["is_won"],
        lost_reason=row["lost_reason"],
        source_system=row["source_system"],
        campaign=row["campaign_key"],
    )


async def opportunity_for_update(conn: asyncpg.Connection, opportunity_id: UUID) -> OpportunityState | None:
    """One opportunity's state, locked for this transaction."""
    row = await conn.fetchrow(
        f"SELECT {STATE_COLUMNS} FROM opportunities WHERE id = $1 FOR UPDATE", opportunity_id
    )
    return state_of(row) if row else None


async def record_move(conn: asyncpg.Connection, moved: StageMove, actor: str) -> None:
    """Write the moved state and its history row."""
    s = moved.state
    await conn.execute(
        "WITH u AS (UPDATE opportunities SET stage = $2, probability = $3, forecast_category = $4,"
        " amount = $5, close_date = $6, is_closed = $7, is_won = $8, closed_at = $9, lost_reason = $10,"
        " updated_at = now()"
        " WHERE id = $1 RETURNING id)"
        " INSERT INTO stage_history (opportunity_id, from_stage, to_stage, probability, forecast_category,"
        " amount, close_date, lost_reason, changed, actor, at)"
        " SELECT u.id, $11, $2, $3, $4, $5, $6, $10, $12, $13, $14 FROM u",
        s.opportunity_id,
        s.stage,
        s.probability,
        s.forecast_category.value,
        s.amount,
        s.close_date,
        s.is_closed,
        s.is_won,
        s.closed_at,
        s.lost_reason,
        moved.from_stage,
        list(moved.changed),
        actor,
        moved.at,
    )


# queries


async def account_view(conn: asyncpg.Connection, account_id: UUID) -> dict[str, Any] | None:
    """An account with its contacts and opportunities."""
    account = await conn.fetchrow(
        "SELECT id, name, domain, name_key, created_at FROM accounts WHERE id = $1", account_id
    )
    if account is None:
        return None
    contacts = await conn.fetch(
        f"SELECT {CONTACT_COLUMNS} FROM contacts c JOIN accounts a ON a.id = c.account_id"
        " WHERE c.account_id = $1 ORDER BY c.created_at, c.id",
        account_id,
    )
    opportunities = await conn.fetch(
        f"SELECT {OPPORTUNITY_COLUMNS} FROM opportunities WHERE account_id = $1 ORDER BY opened_at, id",
        account_id,
    )
    return {
        **dict(account),
        "contacts": [dict(row) for row in contacts],
        "opportunities": [dict(row) for row in opportunities],
    }


async def contact_view(conn: asyncpg.Connection, contact_id: UUID) -> dict[str, Any] | None:
    """A contact with its signals, last criteria check, converted leads and opportunities."""
    contact = await conn.fetchrow(
        f"SELECT {CONTACT_COLUMNS} FROM contacts c JOIN accounts a ON a.id = c.account_id WHERE c.id = $1",
        contact_id,
    )
    if contact is None:
        return None
    leads = await conn.fetch(
        "SELECT lead_id, converted_at FROM converted_leads WHERE contact_id = $1 ORDER BY converted_at",
        contact_id,
    )
    opportunities = await conn.fetch(
        f"SELECT {OPPORTUNITY_COLUMNS} FROM opportunities WHERE contact_id = $1 ORDER BY opened_at, id",
        contact_id,
    )
    return {
        **dict(contact),
        "leads": [dict(row) for row in leads],
        "opportunities": [dict(row) for row in opportunities],
    }


async def opportunity_view(conn: asyncpg.Connection, opportunity_id: UUID) -> dict[str, Any] | None:
    """An opportunity with its stage history, oldest first."""
    row = await conn.fetchrow(
        f"SELECT {OPPORTUNITY_COLUMNS} FROM opportunities WHERE id = $1", opportunity_id
    )
    if row is None:
        return None
    history = await conn.fetch(
        "SELECT from_stage, to_stage, probability, forecast_category, amount, close_date, lost_reason,"
        " changed, actor, at FROM stage_history WHERE opportunity_id = $1 ORDER BY id",
        opportunity_id,
    )
    return {**dict(row), "history": [dict(h) for h in history]}


# browsing

ACCOUNT_SORTS = browsing.Sorting(
    {"name": browsing.SortKey("a.name", "text"), "created_at": browsing.SortKey("a.created_at", "moment")},
    default="name",
    id_column="a.id",
)
CONTACT_SORTS = browsing.Sorting(
    {
        "last_name": browsing.SortKey("coalesce(c.last_name, '')", "text"),
        "account": browsing.SortKey("a.name", "text"),
        "created_at": browsing.SortKey("c.created_at", "moment"),
    },
    default="-created_at",
    id_column="c.id",
)
OPPORTUNITY_SORTS = browsing.Sorting(
    {
        "close_date": browsing.SortKey("close_date", "date"),
        "amount": browsing.SortKey("amount", "number"),
        "opened_at": browsing.SortKey("opened_at", "moment"),
        "name": browsing.SortKey("name", "text"),
    },
    default="close_date",
)
OPPORTUNITY_SORT = "close_date"


async def list_opportunities(
    conn: asyncpg.Connection,
    *,
    stage: str | None,
    owner: str | None,
    closing_before: date | None,
    q: str | None = None,
    sort: str = OPPORTUNITY_SORT,
    cursor: str | None = None,
    limit: int,
) -> browsing.Page:
    """One page of opportunities, filtered and sorted (by close date unless asked otherwise)."""
    query = browsing.new_query()
    if stage is not None:
        query.add("stage = {0}", stage)
    if owner is not None:
        query.add("owner = {0}", owner)
    if closing_before is not None:
        query.add("close_date < {0}", closing_before)
    browsing.search(query, q, ["name", "owner", "stage"])
    return await browsing.fetch_page(
        conn,
        columns=OPPORTUNITY_COLUMNS,
        source="opportunities",
        query=query,
        sorting=OPPORTUNITY_SORTS,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


async def list_accounts(
    conn: asyncpg.Connection, *, q: str | None, sort: str, cursor: str | None, limit: int
) -> browsing.Page:
    """One page of accounts, each with its number of contacts and open opportunities."""
    query = browsing.new_query()
    browsing.search(query, q, ["a.name", "a.domain"])
    return await browsing.fetch_page(
        conn,
        columns=(
            "a.id, a.name, a.domain, a.created_at,"
            " (SELECT count(*) FROM contacts c WHERE c.account_id = a.id) AS contacts,"
            " (SELECT count(*) FROM opportunities o WHERE o.account_id = a.id AND NOT o.is_closed)"
            " AS open_opportunities"
        ),
        source="accounts a",
        query=query,
        sorting=ACCOUNT_SORTS,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


async def list_contacts(
    conn: asyncpg.Connection,
    *,
    account_id: UUID | None,
    owner: str | None,
    q: str | None,
    sort: str,
    cursor: str | None,
    limit: int,
) -> browsing.Page:
    """One page of contacts with their account's name."""
    query = browsing.new_query()
    if account_id is not None:
        query.add("c.account_id = {0}", account_id)
    if owner is not None:
        query.add("c.owner = {0}", owner)
    browsing.search(query, q, ["c.first_name", "c.last_name", "c.email", "c.job_title", "a.name"])
    return await browsing.fetch_page(
        conn,
        columns=CONTACT_COLUMNS,
        source="contacts c JOIN accounts a ON a.id = c.account_id",
        query=query,
        sorting=CONTACT_SORTS,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


async def conversion_of(conn: asyncpg.Connection, lead_id: UUID) -> dict[str, Any]:
    """The account, contact and opportunities a converted lead became (nothing for one not converted)."""
    converted = await conn.fetchrow(
        "SELECT account_id, contact_id, converted_at FROM converted_leads WHERE lead_id = $1", lead_id
    )
    opportunities = await conn.fetch(
        "SELECT id FROM opportunities WHERE lead_id = $1 ORDER BY opened_at DESC, id", lead_id
    )
    ids = [row["id"] for row in opportunities]
    return {
        **(dict(converted) if converted else {}),
        "opportunity_id": ids[0] if ids else None,
        "opportunity_ids": ids,
    }
