"""Conversion, criteria and stage moves on a real Postgres, through the use cases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
import pytest
import pytest_asyncio

from leadflow_devstack.builders import profile, qualified
from leadflow_devstack.testing import TestStack
from leadflow_opportunity.adapters import repository
from leadflow_opportunity.adapters.config_store import ConfigStore
from leadflow_opportunity.domain.criteria import SalesSignals
from leadflow_opportunity.domain.matching import AccountKeys
from leadflow_opportunity.domain.stages import InvalidMove, StageConflict, UnknownStage
from leadflow_opportunity.use_cases import conversion, stages
from leadflow_shared.contracts.events import LeadQualified
from leadflow_shared.contracts.lead import Campaign
from leadflow_shared.db import create_pool
from leadflow_shared.uow import UnitOfWorkFactory

pytestmark = pytest.mark.service

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module")
async def pool(service_stack: TestStack) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_stack.dsn("opportunity"), "opportunity")
    yield pool
    await pool.close()


@pytest.fixture
def uow(pool: asyncpg.Pool, service_stack: TestStack) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(pool, "opportunity", service_stack.topic_prefix)


# Qualified at the launch webinar of the analytical engine, owned by Babbage.
LAUNCH = {
    "source_system": "webinar",
    "campaign": Campaign(campaign_name="analytical-engine-launch"),
    "owner": "babbage",
}


def launched(
    email: str, company: str, domain: str | None = None, *, ready: bool = True, **overrides: Any
) -> LeadQualified:
    """Someone at the company qualified at the launch; not `ready` without a confirmed budget."""
    who = profile(
        first_name="Ada", last_name=email.split("@")[0], email=email, company=company, company_domain=domain
    )
    return qualified(LAUNCH, {"profile": who, "budget_confirmed": ready}, overrides)


async def events_of(pool: asyncpg.Pool, contact_or_lead: str) -> list[dict[str, Any]]:
    rows = await pool.fetch("SELECT payload FROM outbox ORDER BY id")
    return [
        e for e in (orjson.loads(r["payload"]) for r in rows) if contact_or_lead in orjson.dumps(e).decode()
    ]


async def test_two_leads_from_one_company_become_one_account_with_two_contacts_and_redelivery_adds_nothing(
    pool: asyncpg.Pool, uow: UnitOfWorkFactory
) -> None:
    ada = launched("ada@difference-engines.example", "Difference Engines Ltd", "difference-engines.example")
    charles = launched("charles@difference-engines.example", "Difference Engines")
    async with uow() as u:
        first = await conversion.convert_qualified(u, await ConfigStore().load(u.conn), None, ada, NOW)
    async with uow() as u:
        second = await conversion.convert_qualified(u, await ConfigStore().load(u.conn), None, charles, NOW)
    async with uow() as u:
        again = await conversion.convert_qualified(u, await ConfigStore().load(u.conn), None, ada, NOW)
    assert first.account_id == second.account_id == again.account_id
    assert first.contact_id != second.contact_id
    assert again.contact_id == first.contact_id
    assert first.opportunity_id is not None
    assert again.opportunity_id is None
    contacts = await pool.fetchval("SELECT count(*) FROM contacts WHERE account_id = $1", first.account_id)
    opportunities = await pool.fetchval(
        "SELECT count(*) FROM opportunities WHERE contact_id = $1", first.contact_id
    )
    assert (contacts, opportunities) == (2, 1)
    opp = await pool.fetchrow("SELECT * FROM opportunities WHERE id = $1", first.opportunity_id)
    assert opp["amount"] == Decimal("48000.00")
    assert opp["stage"] == "prospecting"
    assert opp["source_system"] == "webinar"
    assert opp["campaign_key"] == "analytical-engine-launch"
    types = [e["type"] for e in await events_of(pool, str(ada.lead_id))]
    assert types.count("lead.converted") == 2
    assert types.count("opportunity.opened") == 1


async def test_a_lead_without_confirmed_budget_waits_until_sales_confirms_it(
    pool: asyncpg.Pool, uow: UnitOfWorkFactory
) -> None:
    lead = launched("grace@cobol-works.example", "COBOL Works", "cobol-works.example", ready=False)
    async with uow() as u:
        outcome = await conversion.convert_qualified(u, await ConfigStore().load(u.conn), None, lead, NOW)
    assert outcome.opportunity_id is None
    assert [c.value for c in outcome.criteria.unmet] == ["budget_confirmed"]
    async with uow() as u:
        later = await conversion.record_sales_signals(
            u, await ConfigStore().load(u.conn), outcome.contact_id, SalesSignals(budget_confirmed=True), NOW
        )
    assert later.opportunity_id is not None
    contact = await pool.fetchrow("SELECT criteria_check FROM contacts WHERE id = $1", outcome.contact_id)
    assert contact["criteria_check"]["met"] is True


async def test_stage_moves_follow_the_rules_and_closing_lost_needs_a_known_reason(
    pool: asyncpg.Pool, uow: UnitOfWorkFactory
) -> None:
    lead = launched("linus@kernel-co.example", "Kernel Co", "kernel-co.example")
    async with uow() as u:
        config = await ConfigStore().load(u.conn)
        outcome = await conversion.convert_qualified(u, config, None, lead, NOW)
    opp_id = outcome.opportunity_id
    assert opp_id is not None
    with pytest.raises(UnknownStage):
        async with uow() as u:
            await stages.move_opportunity(u, config, opp_id, stage="daydreaming", actor="t", now=NOW)
    with pytest.raises(InvalidMove):
        async with uow() as u:
            await stages.move_opportunity(u, config, opp_id, stage="closed_lost", actor="t", now=NOW)
    async with uow() as u:
        await stages.move_opportunity(
            u,
            config,
            opp_id,
            stage="proposal",
            actor="t",
            now=NOW,
            amount=Decimal("52000"),
        )
    async with uow() as u:
        await stages.move_opportunity(
            u,
            config,
            opp_id,
            stage="closed_lost",
            actor="t",
            now=NOW,
            lost_reason="competitor",
        )
    with pytest.raises(StageConflict):
        async with uow() as u:
            await stages.move_opportunity(u, config, opp_id, stage="negotiation", actor="t", now=NOW)
    history = await pool.fetch(
        "SELECT to_stage FROM stage_history WHERE opportunity_id = $1 ORDER BY id", opp_id
    )
    assert [h["to_stage"] for h in history] == ["prospecting", "proposal", "closed_lost"]
    lost = [e for e in await events_of(pool, str(opp_id)) if e["type"] == "opportunity.lost"]
    assert len(lost) == 1
    assert lost[0]["data"]["lost_reason"] == "competitor"
    assert lost[0]["data"]["contact_id"] == str(outcome.contact_id)


async def test_a_company_created_concurrently_is_refused_by_its_unique_domain_and_name_key(
    pool: asyncpg.Pool,
) -> None:
    with_domain = AccountKeys(
        domain="bletchley.example", name_key="bletchleypark", display_name="Bletchley Park"
    )
    without = AccountKeys(domain=None, name_key="huteight", display_name="Hut Eight")
    async with pool.acquire() as conn:
        assert await repository.insert_account(conn, uuid.uuid4(), with_domain)
        assert not await repository.insert_account(conn, uuid.uuid4(), with_domain)
        assert await repository.insert_account(conn, uuid.uuid4(), without)
        assert not await repository.insert_account(conn, uuid.uuid4(), without)
    assert (
        await pool.fetchval("SELECT count(*) FROM accounts WHERE name_key IN ('bletchleypark', 'huteight')")
        == 2
    )
