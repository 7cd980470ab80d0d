"""Opportunity's batch handlers on real Postgres: a group leaves what handling each in turn leaves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import pytest
import pytest_asyncio

from leadflow_devstack.testing import TestStack
from leadflow_opportunity.adapters import leads
from leadflow_opportunity.adapters.config_store import ConfigStore
from leadflow_opportunity.entrypoints.consumers import subscriptions
from leadflow_shared.consumer import Reject
from leadflow_shared.contracts.envelope import Envelope, new_event
from leadflow_shared.contracts.events import LeadQualified, LeadStatusChanged
from leadflow_shared.contracts.lead import LeadProfile
from leadflow_shared.db import create_pool
from leadflow_shared.outbox import Outbox
from leadflow_shared.uow import UnitOfWork

from .test_conversion import launched

pytestmark = pytest.mark.service

MOVES = [
    ("ada", "contacted", "contacted"),
    ("grace", "qualified", "qualified"),
    ("linus", "nurturing", "nurturing"),
]


@pytest_asyncio.fixture
async def conn(service_stack: TestStack) -> AsyncIterator[asyncpg.Connection]:
    pool = await create_pool(service_stack.dsn("opportunity"), "opportunity", 1, 2)
    async with pool.acquire() as conn:
        yield conn
    await pool.close()


def moved(lead_id: UUID, to: str, category: str) -> tuple[Envelope, LeadStatusChanged]:
    event = LeadStatusChanged(
        lead_id=lead_id, from_status="open", to_status=to, category=category, reason="criteria", actor="rule"
    )
    return new_event(event, source="qualification"), event


async def rows(conn: asyncpg.Connection, ids: dict[str, UUID]) -> list[tuple[str, str, str, bool]]:
    names = {lead_id: name for name, lead_id in ids.items()}
    found = await conn.fetch(
        "SELECT id, status, category, profile FROM leads WHERE id = ANY($1)", list(names)
    )
    return sorted((names[r["id"]], r["status"], r["category"], r["profile"] is not None) for r in found)


async def test_status_changes_in_one_group_leave_the_rows_each_in_turn_leaves(
    conn: asyncpg.Connection,
) -> None:
    [sub] = [s for s in subscriptions(ConfigStore()) if s.name == "qualification"]
    uow = UnitOfWork(conn, Outbox(conn, "opportunity"))
    results = []
    for batched in (False, True):
        ids = {name: uuid.uuid4() for name, _, _ in MOVES}
        grace = LeadProfile(first_name="Grace", email="grace@cobol.example")
        await leads.record_profiles(conn, [(ids["grace"], grace)])
        items = [moved(ids[name], to, category) for name, to, category in MOVES]
        if batched:
            await sub.handlers["lead.status_changed"].handle(uow, list(items))
        else:
            for envelope, data in items:
                await sub.handlers["lead.status_changed"].handle(uow, [(envelope, data)])
        results.append(await rows(conn, ids))

    assert results[0] == results[1]
    assert results[1] == [
        ("ada", "contacted", "contacted", False),
        ("grace", "qualified", "qualified", True),
        ("linus", "nurturing", "nurturing", False),
    ]


async def test_a_lead_twice_in_a_group_ends_with_its_last_status(conn: asyncpg.Connection) -> None:
    [sub] = [s for s in subscriptions(ConfigStore()) if s.name == "qualification"]
    ada = uuid.uuid4()
    items = [moved(ada, "contacted", "contacted"), moved(ada, "qualified", "qualified")]

    await sub.handlers["lead.status_changed"].handle(
        UnitOfWork(conn, Outbox(conn, "opportunity")), list(items)
    )

    assert await rows(conn, {"ada": ada}) == [("ada", "qualified", "qualified", False)]


def lovelace_leads(world: str) -> dict[str, LeadQualified]:
    """Two engineers of one company (the second's account found by name) and a lead with no budget yet."""
    return {
        "ada": launched(
            f"ada@engines-{world}.example", f"Difference Engines {world}", f"engines-{world}.example"
        ),
        "charles": launched(f"charles@engines-{world}.example", f"Difference Engines {world}"),
        "grace": launched(f"grace@cobol-{world}.example", f"COBOL Works {world}", ready=False),
    }


async def conversions(conn: asyncpg.Connection, world: str, ids: dict[str, UUID]) -> dict[str, Any]:
    """What the world's leads became, with ids and timestamps left out and the world's name blanked."""
    names = {lead_id: name for name, lead_id in ids.items()}
    linked = await conn.fetch(
        "SELECT l.lead_id, a.name AS account, c.email, c.first_name, c.owner, c.source_system,"
        " c.campaign_key, c.signals, c.criteria_check, o.name AS opportunity, o.stage, o.amount, o.close_date"
        " FROM converted_leads l JOIN accounts a ON a.id = l.account_id"
        " JOIN contacts c ON c.id = l.contact_id LEFT JOIN opportunities o ON o.contact_id = c.id"
        " WHERE l.lead_id = ANY($1)",
        list(names),
    )
    rows = sorted(str({**dict(row), "lead_id": names[row["lead_id"]]}).replace(world, "*") for row in linked)
    events: list[tuple[str, str]] = []
    for row in await conn.fetch("SELECT payload FROM outbox ORDER BY id"):
        event = orjson.loads(row["payload"])
        lead = event["data"].get("lead_id")
        if lead and UUID(lead) in names:
            events.append((names[UUID(lead)], event["type"]))
    accounts = await conn.fetchval(
        "SELECT count(DISTINCT account_id) FROM converted_leads WHERE lead_id = ANY($1)", list(names)
    )
    return {"rows": rows, "events": sorted(events), "accounts": accounts}


async def test_qualified_leads_in_one_group_convert_as_each_in_turn_would(conn: asyncpg.Connection) -> None:
    [sub] = [s for s in subscriptions(ConfigStore()) if s.name == "qualification"]
    results = []
    for world, batched in (("one-by-one", False), ("grouped", True)):
        uow = UnitOfWork(conn, Outbox(conn, "opportunity"))
        leads_of_world = lovelace_leads(world)
        items = [(new_event(event, source="qualification"), event) for event in leads_of_world.values()]
        async with conn.transaction():
            if batched:
                await sub.handlers["lead.qualified"].handle(uow, list(items))
            else:
                for envelope, data in items:
                    await sub.handlers["lead.qualified"].handle(uow, [(envelope, data)])
            await uow.outbox.flush()
        results.append(await conversions(conn, world, {n: e.lead_id for n, e in leads_of_world.items()}))

    assert results[1] == results[0]
    assert results[0]["accounts"] == 2
    assert results[0]["events"] == [
        ("ada", "lead.converted"),
        ("ada", "opportunity.opened"),
        ("charles", "lead.converted"),
        ("charles", "opportunity.opened"),
        ("grace", "lead.converted"),
    ]


async def test_a_group_with_signals_out_of_range_fails_whole_so_the_consumer_refuses_that_one_alone(
    conn: asyncpg.Connection,
) -> None:
    [sub] = [s for s in subscriptions(ConfigStore()) if s.name == "qualification"]
    leads_of_world = lovelace_leads("refused")
    broken = leads_of_world["grace"].model_copy(update={"budget_amount": Decimal("-1")})
    items: list[tuple[Envelope, Any]] = [
        (new_event(event, source="qualification"), event) for event in (leads_of_world["ada"], broken)
    ]
    uow = UnitOfWork(conn, Outbox(conn, "opportunity"))

    with pytest.raises(Reject, match="out of range"):
        async with conn.transaction():
            await sub.handlers["lead.qualified"].handle(uow, list(items))
    with pytest.raises(Reject, match="out of range"):
        await sub.handlers["lead.qualified"].handle(uow, [items[1]])
