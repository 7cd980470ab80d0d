"""Qualification on a real Postgres: consumers and use cases change status, history, decisions, outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
import pytest_asyncio

from leadflow_devstack.builders import address, captured, profile
from leadflow_devstack.testing import TestStack
from leadflow_qualification.domain.simulation import SimulationScope
from leadflow_qualification.domain.statuses import TransitionNotAllowed
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases import intake_events, pipeline_events, reports, sales
from leadflow_qualification.use_cases.staleness import sweep
from leadflow_shared.contracts.envelope import new_event
from leadflow_shared.contracts.events import (
    ExhaustedNext,
    LeadConverted,
    LeadEngaged,
    LeadMerged,
    LeadRequalificationRequested,
    NurtureExhausted,
)
from leadflow_shared.contracts.lead import ActivityType, LeadProfile, QualifyingAnswers
from leadflow_shared.db import create_pool
from leadflow_shared.uow import UnitOfWorkFactory

from .conftest import current

pytestmark = pytest.mark.service

READY = QualifyingAnswers(
    need="Our reps lose leads in spreadsheets",
    authority="Decision maker",
    budget="€60k",
    timeline="next quarter",
)


# The Lindqvists of Fjord Freight: a VP of a mid-sized German logistics firm, ready to buy.
FJORD_FREIGHT: dict[str, Any] = {
    "last_name": "Lindqvist",
    "company": "Fjord Freight AB",
    "job_title": "VP Operations",
    "seniority": "vp",
    "country": "DE",
    "industry": "Logistics",
    "company_size": 420,
    "answers": READY,
}


def lindqvist(name: str, **changes: Any) -> LeadProfile:
    """A Lindqvist of Fjord Freight, at an address of their own."""
    someone = {"first_name": name, "email": address(name, "fjord-freight.example")}
    return profile(FJORD_FREIGHT, someone, changes)


@pytest_asyncio.fixture(scope="module")
async def uows(service_stack: TestStack) -> Any:
    pool = await create_pool(service_stack.dsn("qualification"), "qualification")
    yield UnitOfWorkFactory(pool, "qualification", service_stack.topic_prefix)
    await pool.close()


async def capture(uows: UnitOfWorkFactory, p: LeadProfile) -> uuid.UUID:
    event = captured(p)
    async with uows() as uow:
        await intake_events.lead_captured(uow, await current(uow), event, new_event(event, source="intake"))
    return event.lead_id


async def lead(uows: UnitOfWorkFactory, lead_id: uuid.UUID) -> dict[str, Any]:
    async with uows.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM leads WHERE id = $1", lead_id)
    assert row is not None
    return dict(row)


async def events(uows: UnitOfWorkFactory, lead_id: uuid.UUID) -> list[dict[str, Any]]:
    async with uows.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT topic, payload FROM outbox WHERE key = $1 ORDER BY id", str(lead_id).encode()
        )
    return [orjson.loads(r["payload"]) for r in rows]


async def history(uows: UnitOfWorkFactory, lead_id: uuid.UUID) -> list[tuple[str | None, str, str]]:
    async with uows.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT from_status, to_status, actor FROM status_history WHERE lead_id = $1 ORDER BY id", lead_id
        )
    return [(r["from_status"], r["to_status"], r["actor"]) for r in rows]


async def test_a_ready_vp_from_a_target_logistics_firm_is_qualified_with_what_opportunity_needs(uows):
    lead_id = await capture(uows, lindqvist("Astrid"))

    row = await lead(uows, lead_id)
    assert row["status"] == "qualified"
    assert row["decision"]["outcome"] == "qualified"
    assert row["decision"]["criteria_version"] == 1
    assert {c["name"] for c in row["decision"]["conditions"]} >= {"has a need", "can decide"}
    assert [(h[0], h[1]) for h in await history(uows, lead_id)] == [(None, "open"), ("open", "qualified")]
    sent = await events(uows, lead_id)
    assert [e["type"] for e in sent] == ["lead.status_changed", "lead.status_changed", "lead.qualified"]
    qualified = sent[-1]["data"]
    assert qualified["need"]
    assert qualified["authority"]
    assert qualified["budget_confirmed"]
    assert Decimal(str(qualified["budget_amount"])) == Decimal(60000)
    assert qualified["source_system"] == "website"
    assert qualified["channel"] == "web_form"


@pytest.mark.parametrize(
    ("changes", "status", "reason", "nurturable"),
    [
        ({"answers": {**READY.model_dump(), "need": "just browsing"}}, "nurturing", "no_need", True),
        (
            {"answers": {**READY.model_dump(), "authority": "I am an evaluator"}},
            "nurturing",
            "no_authority",
            True,
        ),
        ({"answers": {**READY.model_dump(), "budget": "under 2k"}}, "nurturing", "no_budget", True),
        ({"country": "BR"}, "archived", "not_icp", False),
        ({"is_test": True}, "archived", "invalid", False),
    ],
)
async def test_each_unqualified_reason_sends_the_lead_to_nurture_or_the_archive(
    uows, changes, status, reason, nurturable
):
    lead_id = await capture(uows, lindqvist("Britta", **changes))

    row = await lead(uows, lead_id)
    assert row["status"] == status
    assert row["disqualification_reason"] == reason
    disqualified = (await events(uows, lead_id))[-1]
    assert disqualified["type"] == "lead.disqualified"
    assert disqualified["data"]["reason"] == reason
    assert disqualified["data"]["nurturable"] is nurturable


async def test_redelivered_capture_changes_nothing(uows):
    event = captured(lindqvist("Cecilia"))
    for _ in range(2):
        async with uows() as uow:
            await intake_events.lead_captured(
                uow, await current(uow), event, new_event(event, source="intake")
            )
    assert len(await history(uows, event.lead_id)) == 2


async def test_a_lead_without_answers_waits_open_until_sales_report_then_qualifies(uows):
    lead_id = await capture(uows, lindqvist("Dagny", answers={}))
    assert (await lead(uows, lead_id))["status"] == "open"

    async with uows() as uow:
        await sales.mark_contacted(uow, await current(uow), lead_id, sales.Contacted(actor="maria.sales"))
    async with uows() as uow:
        await sales.report(
            uow,
            await current(uow),
            lead_id,
            sales.SalesReport(actor="maria.sales", need=True, authority=True, budget_amount=Decimal(25000)),
        )

    row = await lead(uows, lead_id)
    assert row["status"] == "qualified"
    assert row["sales_input"]["budget_amount"] == "25000"
    assert [h[2] for h in await history(uows, lead_id)] == ["rule:capture", "maria.sales", "rule:criteria v1"]


async def test_a_forbidden_transition_names_the_current_and_allowed_statuses(uows):
    lead_id = await capture(uows, lindqvist("Elin"))
    with pytest.raises(TransitionNotAllowed) as refused:
        async with uows() as uow:
            await sales.mark_contacted(uow, await current(uow), lead_id, sales.Contacted(actor="olaf"))
    assert refused.value.current == "qualified"
    assert "converted" in refused.value.allowed


async def test_engagement_is_stored_once_and_scored(uows):
    lead_id = await capture(uows, lindqvist("Frida", answers={}))
    engaged = LeadEngaged(
        lead_id=lead_id,
        activity_id="pricing-1",
        activity_type=ActivityType.PRICING_PAGE_VISITED,
        occurred_at=datetime.now(UTC),
    )
    for _ in range(2):
        async with uows() as uow:
            await intake_events.lead_engaged(
                uow, await current(uow), engaged, new_event(engaged, source="intake")
            )
    row = await lead(uows, lead_id)
    assert row["engagement_score"] == pytest.approx(10, abs=0.1)


async def test_manual_overrides_are_kept_as_such_and_conversion_and_exhaustion_follow(uows):
    waiting = await capture(uows, lindqvist("Gunnel", answers={}))
    async with uows() as uow:
        await sales.qualify(
            uow,
            await current(uow),
            waiting,
            sales.ManualQualify(actor="lars.sales", reason="met at the fair"),
        )
    converted = LeadConverted(lead_id=waiting, account_id=uuid.uuid4(), contact_id=uuid.uuid4())
    async with uows() as uow:
        await pipeline_events.lead_converted(
            uow, await current(uow), converted, new_event(converted, source="opportunity")
        )
    row = await lead(uows, waiting)
    assert row["status"] == "converted"
    assert row["manual_override"] is True
    assert ("open", "qualified", "lars.sales") in await history(uows, waiting)
    qualified = [e for e in await events(uows, waiting) if e["type"] == "lead.qualified"]
    assert qualified[0]["data"]["manual"] is True

    dropped = await capture(uows, lindqvist("Hedda", answers={}))
    async with uows() as uow:
        await sales.disqualify(
            uow, await current(uow), dropped, sales.ManualDisqualify(actor="lars.sales", reason="no_budget")
        )
    exhausted = NurtureExhausted(
        lead_id=dropped, track="slow-burn", enrollment_id=uuid.uuid4(), next=ExhaustedNext.ARCHIVE
    )
    async with uows() as uow:
        await pipeline_events.nurture_exhausted(
            uow, await current(uow), exhausted, new_event(exhausted, source="nurture")
        )
    assert [h[1] for h in await history(uows, dropped)] == ["open", "nurturing", "archived"]


async def test_requalification_with_a_budget_trigger_brings_a_nurtured_lead_back_qualified(uows):
    lead_id = await capture(uows, lindqvist("Ingrid", answers={**READY.model_dump(), "budget": "no budget"}))
    assert (await lead(uows, lead_id))["status"] == "nurturing"
    trigger = LeadEngaged(
        lead_id=lead_id,
        activity_id="funding",
        activity_type=ActivityType.TRIGGER,
        trigger="funding_round",
        occurred_at=datetime.now(UTC),
    )
    async with uows() as uow:
        await intake_events.lead_engaged(
            uow, await current(uow), trigger, new_event(trigger, source="intake")
        )
    request = LeadRequalificationRequested(lead_id=lead_id, reason="raised series B", trigger="funding_round")
    async with uows() as uow:
        await pipeline_events.requalification_requested(
            uow, await current(uow), request, new_event(request, source="nurture")
        )
    assert (await lead(uows, lead_id))["status"] == "qualified"


async def test_a_merged_lead_folds_into_the_survivor_and_is_archived(uows):
    survivor = await capture(uows, lindqvist("Jonna", answers={}))
    duplicate = await capture(uows, lindqvist("Jonna", answers={}))
    merged = LeadMerged(lead_id=survivor, merged_id=duplicate, profile=lindqvist("Jonna"))
    async with uows() as uow:
        await intake_events.lead_merged(uow, await current(uow), merged, new_event(merged, source="intake"))
    assert (await lead(uows, survivor))["status"] == "qualified"
    gone = await lead(uows, duplicate)
    assert gone["merged_into"] == survivor
    assert gone["status"] == "archived"


async def test_invalid_criteria_are_refused_naming_the_problem(uows):
    body = cfg.DEFAULT_CONFIG.criteria.model_dump(mode="json")
    body["fit"]["industry"]["weight"] = 250
    body["fit"]["colour"] = "blue"
    with pytest.raises(cfg.InvalidConfig) as refused:
        async with uows() as uow:
            await cfg.put_criteria(uow.conn, body, "test")
    assert any("fit.industry.weight" in p for p in refused.value.problems)
    assert any("fit.colour: unknown field" in p for p in refused.value.problems)


async def test_owner_assignment_and_staleness_and_simulation_and_funnel(uows):
    async with uows() as uow:
        await cfg.put_simple(
            uow.conn,
            cfg.ASSIGNMENT,
            {
                "rules": [{"team": "dach", "countries": ["DE", "AT", "CH"]}],
                "teams": [
                    {"name": "dach", "members": ["jonas", "lena"]},
                    {"name": "world", "members": ["ana"]},
                ],
                "default_team": "world",
            },
            "test",
        )
        await cfg.put_simple(
            uow.conn,
            cfg.STALENESS,
            {"limits": {"contacted": {"stale_after_hours": 0.0001, "unresponsive_after_hours": 0.0002}}},
            "test",
        )
    owners = [
        (await lead(uows, await capture(uows, lindqvist("Karin", answers={}))))["owner"] for _ in range(3)
    ]
    assert owners in (["jonas", "lena", "jonas"], ["lena", "jonas", "lena"])

    quiet = await capture(uows, lindqvist("Liv", answers={}))
    async with uows() as uow:
        await sales.mark_contacted(uow, await current(uow), quiet, sales.Contacted(actor="jonas"))
    async with uows.pool.acquire() as conn:
        await conn.execute(
            "UPDATE leads SET last_progress_at = now() - interval '1 hour' WHERE id = $1", quiet
        )
    done = await sweep(uows, cfg.ConfigStore())
    assert done.unresponsive >= 1
    row = await lead(uows, quiet)
    assert row["status"] == "nurturing"
    assert row["disqualification_reason"] == "unresponsive"
    assert (await history(uows, quiet))[-1][2].startswith("rule:staleness.contacted")

    async with uows.pool.acquire() as conn:
        stricter = cfg.proposed_criteria(
            {
                **cfg.DEFAULT_CONFIG.criteria.model_dump(mode="json"),
                "fit": {"country": {"weight": 20, "required": True, "countries": ["FR"]}},
            },
            cfg.DEFAULT_CONFIG.criteria,
        )
        config = await cfg.ConfigStore().load(conn)
        result, _ = await reports.run_simulation(conn, config, stricter, SimulationScope.OPEN_ONLY, 1000)
        assert any(c.from_status == "open" and c.to_status == "archived" for c in result.changes)
        kpis = await reports.funnel(conn, config, datetime(2020, 1, 1, tzinfo=UTC), datetime.now(UTC), None)
    assert kpis["report"]["leads"] >= 10
    assert kpis["report"]["disqualification_reasons"]["unresponsive"] >= 1
    async with uows() as uow:
        await cfg.put_simple(
            uow.conn, cfg.STALENESS, cfg.DEFAULT_CONFIG.staleness.model_dump(mode="json"), "t"
        )
