"""A group of lead.qualified converted together leaves every row and event that converting them one by one
leaves: two fresh schemas on a real Postgres, one for each path, compared table by table."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import pytest
import pytest_asyncio

from leadflow_devstack.builders import profile, qualified, sent
from leadflow_devstack.testing import TestStack, wait_blocking
from leadflow_opportunity.adapters import reports
from leadflow_opportunity.adapters.config_store import ConfigStore
from leadflow_opportunity.bootstrap import MIGRATIONS
from leadflow_opportunity.use_cases import conversion
from leadflow_shared import migrations
from leadflow_shared.consumer import Conflict
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import LeadQualified
from leadflow_shared.contracts.lead import Campaign
from leadflow_shared.db import create_pool
from leadflow_shared.outbox import Outbox
from leadflow_shared.totals import fold
from leadflow_shared.uow import UnitOfWork

pytestmark = pytest.mark.service

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
LEADS = {label: uuid.uuid4() for label in ("ada", "hedy", "grace", "alan", "annie")}


def engineer(
    label: str,
    email: str | None,
    company: str,
    domain: str | None = None,
    *,
    ready: bool = True,
    lead: str | None = None,
    **overrides: Any,
) -> LeadQualified:
    """A lead.qualified of a person; `lead` names an earlier lead this one is a redelivery or repeat of."""
    who = profile(
        first_name=label.split("-")[0].title(),
        last_name="Babbage" if email is None else email.split("@")[0].title(),
        email=email,
        phone="+441632960001",
        job_title="Chief Engineer",
        company=company,
        company_domain=domain,
        company_size=120,
    )
    fields: dict[str, Any] = {
        "lead_id": LEADS[lead] if lead else uuid.uuid4(),
        "profile": who,
        "budget_amount": Decimal("48000") if ready else None,
        "budget_confirmed": ready,
        "source_system": "webinar",
        "campaign": Campaign(campaign_name=f"engines-{label}", utm_source="newsletter"),
        "owner": "babbage" if ready else None,
    }
    return qualified(fields, overrides)


# Converted before the group, each in its own transaction: Acme Ltd's account is older than Acme Inc's.
BEFORE = [
    engineer("ada", "ada@engines.example", "Difference Engines Ltd", "engines.example", lead="ada"),
    engineer("hedy", "hedy@acme.co.uk", "Acme Ltd", "acme.co.uk", ready=False, lead="hedy"),
    engineer("grace", "grace@acme.com", "Acme Inc", "acme.com", ready=False, lead="grace"),
    engineer("alan", "alan@bletchley.example", "Bletchley Park", ready=False, lead="alan"),
]

GROUP = {
    # The same person again on a new lead: signals merge, the open opportunity is not opened twice.
    "ada-again": engineer("ada-again", "ada@engines.example", "Difference Engines", timeline_days=20),
    # A colleague whose account is found by the domain of a work email.
    "charles": engineer("charles", "charles@engines.example", "Difference Engines"),
    # A redelivery of a lead converted before.
    "hedy-redelivered": BEFORE[1],
    # A free-mail address and a company name two accounts share: the older account is taken.
    "kurt": engineer("kurt", "kurt.goedel@gmail.com", "ACME"),
    # A lead converted before, now with another email: it stays with its contact.
    "alan-moved": engineer("alan-moved", "alan@hut8.example", "Hut Eight", "hut8.example", lead="alan"),
    # Someone new with that other email, after it: a new contact and the company's first account.
    "turing": engineer("turing", "alan@hut8.example", "Hut Eight", "hut8.example"),
    # The same company by name only: finds the account the one before created.
    "joan": engineer("joan", "joan.clarke@gmail.com", "Hut Eight Ltd"),
    # Alan's first email on a new lead, budget not shown: the contact as alan-moved left it meets the
    # criteria, and its opportunity is open already.
    "alan-again": engineer("alan-again", "alan@bletchley.example", "Bletchley Park", ready=False),
    # A new person not ready yet, and then ready on the next lead of the same email.
    "margaret": engineer("margaret", "margaret@apollo.example", "Apollo Guidance", ready=False),
    "margaret-ready": engineer("margaret-ready", "margaret@apollo.example", "Apollo Guidance"),
    # Without email: always a new contact, the account by name.
    "annie": engineer("annie", None, "NASA Lewis", lead="annie"),
    "katherine": engineer("katherine", None, "Nasa Lewis", ready=False),
    "dorothy": engineer("dorothy", None, "NASA Lewis Inc."),
    # The same lead twice in one group (the consumer never groups them, a caller might): found by its lead.
    "annie-redelivered": engineer("annie", None, "NASA Lewis", lead="annie"),
    # A person converted before whose budget is now confirmed: the opportunity opens now.
    "grace-ready": engineer("grace-ready", "grace@acme.com", "Acme Inc"),
    # Someone whose company is known under two other spellings, with its own domain: a new account.
    "mary": engineer("mary", "mary@acme.org", "Acme", "acme.org", ready=False),
}


@pytest_asyncio.fixture
async def two_schemas(service_stack: TestStack) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """Two fresh opportunity schemas, migrated, each with its own pool."""
    names = [f"opportunity_{path}_{secrets.token_hex(3)}" for path in ("one_by_one", "grouped")]
    admin = await asyncpg.connect(service_stack.admin_database_dsn())
    pools: list[asyncpg.Pool] = []
    try:
        for name in names:
            await admin.execute(f'CREATE SCHEMA "{name}" AUTHORIZATION opportunity')
            await asyncio.to_thread(migrations.upgrade, MIGRATIONS, service_stack.dsn("opportunity"), name)
            pools.append(await create_pool(service_stack.dsn("opportunity"), name, 1, 2))
        yield pools[0], pools[1]
    finally:
        for pool in pools:
            await pool.close()
        for name in names:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await admin.close()


async def convert_before(pool: asyncpg.Pool, items: list[tuple[Envelope, LeadQualified]]) -> None:
    for envelope, event in items:
        async with pool.acquire() as conn, conn.transaction():
            uow = UnitOfWork(conn, Outbox(conn, "opportunity"))
            await conversion.convert_qualified(uow, await ConfigStore().load(conn), envelope, event, NOW)
            await uow.outbox.flush()


async def convert_group(
    pool: asyncpg.Pool, items: list[tuple[Envelope, LeadQualified]], *, grouped: bool
) -> list[conversion.ConversionOutcome]:
    async with pool.acquire() as conn, conn.transaction():
        uow = UnitOfWork(conn, Outbox(conn, "opportunity"))
        config = await ConfigStore().load(conn)
        if grouped:
            outcomes = await conversion.convert_many_qualified(uow, config, items, NOW)
        else:
            outcomes = [await conversion.convert_qualified(uow, config, e, d, NOW) for e, d in items]
        await uow.outbox.flush()
    return outcomes


# Stamped by the database's clock, or generated in sequence.
# Clocks, and the timeline's copy of each event's own id and time, new in every run.
UNCOMPARED = {"created_at", "updated_at", "converted_at", "published_at", "started_at", "event_id", "at"}


async def every_row(pool: asyncpg.Pool, labels: dict[UUID, str]) -> dict[str, list[str]]:
    """Every row of every table, generated ids named after what they belong to, the totals folded first;
    the outbox in its order, the other tables sorted."""
    async with pool.acquire() as conn:
        await fold(conn, reports.TOTALS)
        names = dict(labels)
        for row in await conn.fetch("SELECT id, domain, name_key FROM accounts"):
            names[row["id"]] = f"account {row['domain']} / {row['name_key']}"
        for row in await conn.fetch(
            "SELECT contact_id, array_agg(lead_id) AS leads FROM converted_leads GROUP BY contact_id"
        ):
            names[row["contact_id"]] = "contact of " + "+".join(sorted(names[lead] for lead in row["leads"]))
        for row in await conn.fetch("SELECT id, contact_id FROM opportunities"):
            names[row["id"]] = f"opportunity of {names[row['contact_id']]}"

        def named(value: Any) -> Any:
            if isinstance(value, UUID):
                return names.get(value, str(value))
            if isinstance(value, str) and len(value) == 36:
                try:
                    return names.get(UUID(value), value)
                except ValueError:
                    return value
            if isinstance(value, dict):
                return {k: named(v) for k, v in value.items()}
            if isinstance(value, list):
                return [named(v) for v in value]
            return value

        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        found: dict[str, list[str]] = {}
        for table in (row["table_name"] for row in tables):
            rows = []
            for row in await conn.fetch(f'SELECT * FROM "{table}" ORDER BY 1'):
                kept = {k: v for k, v in row.items() if k not in UNCOMPARED}
                if isinstance(kept.get("id"), int):
                    del kept["id"]
                if table == "outbox":
                    envelope = orjson.loads(kept.pop("payload"))
                    # The traceparent's span is the event's own id.
                    kept["envelope"] = {
                        k: v for k, v in envelope.items() if k not in ("id", "time", "traceparent")
                    }
                rows.append(repr(named(kept)))
            found[table] = rows if table == "outbox" else sorted(rows)
    return found


async def test_a_mixed_group_converted_together_leaves_every_row_and_event_one_by_one_leaves(
    two_schemas: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    before, items = (
        [sent(event, "qualification") for event in BEFORE],
        [sent(event, "qualification") for event in GROUP.values()],
    )
    labels = {lead_id: label for label, lead_id in LEADS.items()}
    labels.update((e.lead_id, label) for label, e in GROUP.items() if e.lead_id not in labels)
    outcomes: dict[bool, dict[str, conversion.ConversionOutcome]] = {}
    for pool, batched in zip(two_schemas, (False, True), strict=True):
        await convert_before(pool, before)
        outcomes[batched] = dict(zip(GROUP, await convert_group(pool, items, grouped=batched), strict=True))

    one_by_one, together = [await every_row(pool, labels) for pool in two_schemas]

    assert together.keys() == one_by_one.keys()
    for table in one_by_one:
        assert together[table] == one_by_one[table], table
    assert [(o.opportunity_id is not None, o.criteria.met) for o in outcomes[True].values()] == [
        (o.opportunity_id is not None, o.criteria.met) for o in outcomes[False].values()
    ]
    # The scenario does what it says: the cases the rounds and the accounts in memory are there for.
    grouped = outcomes[True]
    opened = sorted(label for label, o in grouped.items() if o.opportunity_id is not None)
    assert opened == [
        "alan-moved",
        "annie",
        "charles",
        "dorothy",
        "grace-ready",
        "joan",
        "kurt",
        "margaret-ready",
        "turing",
    ]
    assert grouped["ada-again"].criteria.met  # met, but ada's opportunity is open already
    assert grouped["alan-again"].contact_id == grouped["alan-moved"].contact_id
    assert grouped["alan-again"].criteria.met
    assert grouped["turing"].contact_id != grouped["alan-moved"].contact_id
    assert grouped["joan"].account_id == grouped["turing"].account_id
    assert grouped["margaret-ready"].contact_id == grouped["margaret"].contact_id
    assert grouped["katherine"].account_id == grouped["annie"].account_id == grouped["dorothy"].account_id
    assert len({grouped[n].contact_id for n in ("annie", "katherine", "dorothy")}) == 3
    assert grouped["annie-redelivered"].contact_id == grouped["annie"].contact_id
    acme = await two_schemas[1].fetch("SELECT id, domain FROM accounts WHERE name_key = 'acme'")
    by_domain = {row["domain"]: row["id"] for row in acme}
    assert grouped["kurt"].account_id == by_domain["acme.co.uk"]
    assert grouped["mary"].account_id == by_domain["acme.org"]
    events = [row["payload"] for row in await two_schemas[1].fetch("SELECT payload FROM outbox ORDER BY id")]
    assert len(events) == len(BEFORE) + 1 + len(GROUP) + len(opened)


async def test_a_group_that_meets_a_company_created_concurrently_is_retried(
    two_schemas: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    pool = two_schemas[1]
    items = [sent(GROUP["turing"], "qualification"), sent(GROUP["joan"], "qualification")]
    async with pool.acquire() as other, other.transaction():
        await other.execute(
            "INSERT INTO accounts (id, name, domain, name_key)"
            " VALUES ($1, 'Hut Eight', 'hut8.example', 'huteight')",
            uuid.uuid4(),
        )
        group = asyncio.create_task(convert_group(pool, items, grouped=True))
        await wait_blocking(other)
        assert not group.done()  # waiting on the other transaction's account
    with pytest.raises(Conflict):
        await group

    retried = await convert_group(pool, items, grouped=True)
    assert retried[0].account_id == retried[1].account_id
    assert await pool.fetchval("SELECT count(*) FROM accounts") == 1
