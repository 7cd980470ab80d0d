"""Pipeline, forecast and KPIs over HTTP, summed by Postgres from the running totals its triggers keep."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from pydantic_core import to_jsonable_python

from leadflow_devstack.testing import TestStack, api_client
from leadflow_opportunity.adapters import reports
from leadflow_opportunity.adapters.config_store import ConfigStore
from leadflow_opportunity.domain.forecast import Kpis, StageTotals, Totals, pipeline
from leadflow_opportunity.domain.stages import DEFAULT_STAGES
from leadflow_opportunity.entrypoints import http
from leadflow_opportunity.settings import OpportunitySettings
from leadflow_shared.db import create_pool
from leadflow_shared.totals import fold

STATE = {"config": ConfigStore()}

pytestmark = pytest.mark.service

ACME = uuid.UUID("00000000-0000-0000-0000-00000000ac01")
CATEGORY = {stage.name: stage.forecast_category.value for stage in DEFAULT_STAGES.stages}


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


def deal(
    stage: str,
    probability: float,
    amount: str,
    close_date: date,
    source: str | None,
    *,
    campaign: str | None = None,
    opened: date = date(2026, 9, 1),
) -> dict[str, Any]:
    closed = stage.startswith("closed_")
    return {
        "stage": stage,
        "probability": probability,
        "forecast_category": CATEGORY.get(stage, "pipeline"),
        "amount": Decimal(amount),
        "close_date": close_date,
        "opened_at": at(opened),
        "closed_at": at(close_date) if closed else None,
        "is_closed": closed,
        "is_won": stage == "closed_won",
        "lost_reason": "competitor" if stage == "closed_lost" else None,
        "source_system": source,
        "campaign_key": campaign,
    }


ROCKET_SKATES = deal("proposal", 0.6, "40000", date(2026, 12, 10), "hubspot", campaign="desert-webinar")
ANVIL_BULK = deal("proposal", 0.6, "10000.50", date(2027, 1, 20), "linkedin")
GIANT_MAGNET = deal("negotiation", 0.8, "25000", date(2026, 12, 20), "hubspot", campaign="desert-webinar")
JET_BIKE = deal("closed_won", 1.0, "30000", date(2026, 11, 5), "hubspot", opened=date(2026, 10, 1))
BIRD_SEED = deal("closed_lost", 0.0, "12000", date(2026, 11, 10), "linkedin")
TORNADO_KIT = deal("closed_won", 1.0, "18000", date(2026, 9, 21), "linkedin", campaign="desert-webinar")
ALL_DEALS = [ROCKET_SKATES, ANVIL_BULK, GIANT_MAGNET, JET_BIKE, BIRD_SEED, TORNADO_KIT]

CONVERSIONS: list[tuple[str | None, str | None]] = [
    *[("hubspot", "desert-webinar")] * 3,
    *[("hubspot", None)] * 2,
    *[("linkedin", None)] * 3,
    ("linkedin", "desert-webinar"),
    (None, None),
]


@pytest_asyncio.fixture(scope="module")
async def pool(service_stack: TestStack) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_stack.dsn("opportunity"), "opportunity")
    yield pool
    await asyncio.wait_for(pool.close(), 10)


@pytest_asyncio.fixture(scope="module")
async def client(pool: asyncpg.Pool, service_stack: TestStack) -> AsyncIterator[httpx.AsyncClient]:
    """Opportunity's routes in-process on the real database, with a read token."""
    async with api_client(service_stack, OpportunitySettings, [http.router], pool, state=STATE) as client:
        yield client


@pytest_asyncio.fixture
async def book(pool: asyncpg.Pool) -> asyncpg.Pool:
    """An empty book: no accounts, contacts, conversions or opportunities."""
    await pool.execute("TRUNCATE stage_history, opportunities, converted_leads, contacts, accounts")
    await pool.execute("INSERT INTO accounts (id, name) VALUES ($1, 'Acme')", ACME)
    return pool


async def contact(pool: asyncpg.Pool) -> uuid.UUID:
    contact_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO contacts (id, account_id, lead_id) VALUES ($1, $2, $3)", contact_id, ACME, uuid.uuid4()
    )
    return contact_id


async def store(pool: asyncpg.Pool, *deals: dict[str, Any]) -> list[uuid.UUID]:
    ids = []
    for d in deals:
        ids.append(uuid.uuid4())
        await pool.execute(
            "INSERT INTO opportunities (id, lead_id, account_id, contact_id, name, amount_basis,"
            " criteria_version, stage_set_version, stage, probability, forecast_category, amount, close_date,"
            " opened_at, closed_at, is_closed, is_won, lost_reason, source_system, campaign_key)"
            " VALUES ($1, $2, $3, $4, 'Acme deal', 'default', 1, 1, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
            " $14, $15, $16)",
            ids[-1],
            uuid.uuid4(),
            ACME,
            await contact(pool),
            *d.values(),
        )
    return ids


async def convert(pool: asyncpg.Pool, conversions: list[tuple[str | None, str | None]]) -> None:
    for source, campaign in conversions:
        await pool.execute(
            "INSERT INTO converted_leads (lead_id, account_id, contact_id, source_system, campaign_key)"
            " VALUES ($1, $2, $3, $4, $5)",
            uuid.uuid4(),
            ACME,
            await contact(pool),
            source,
            campaign,
        )


def stage(name: str, count: int, amount: str, weighted: str) -> dict[str, Any]:
    return {"stage": name, "count": count, "amount": amount, "weighted_amount": weighted}


def cell(period: str, category: str, count: int, amount: str, weighted: str) -> dict[str, Any]:
    return {
        "period": period,
        "category": category,
        "count": count,
        "amount": amount,
        "weighted_amount": weighted,
    }


def as_json(kpis: Kpis) -> Any:
    return to_jsonable_python(asdict(kpis))


async def get(client: httpx.AsyncClient, path: str, **params: str) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_open_pipeline_counts_and_weights_each_stage_in_order(
    book: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    await store(book, *ALL_DEALS)

    assert await get(client, "/v1/pipeline") == {
        "stage_set_version": 1,
        "stages": [
            stage("prospecting", 0, "0.00", "0.00"),
            stage("qualification", 0, "0.00", "0.00"),
            stage("needs_analysis", 0, "0.00", "0.00"),
            stage("proposal", 2, "50000.50", "30000.30"),
            stage("negotiation", 1, "25000.00", "20000.00"),
        ],
    }


async def test_the_pipeline_may_include_the_closed_stages(book: asyncpg.Pool) -> None:
    await store(book, *ALL_DEALS)
    async with book.acquire() as conn:
        by_stage = await reports.stage_sums(conn, open_only=False)

    assert pipeline(by_stage, DEFAULT_STAGES, include_closed=True)[-2:] == (
        StageTotals("closed_won", Totals(2, Decimal("48000.00"), Decimal("48000.00"))),
        StageTotals("closed_lost", Totals(1, Decimal("12000.00"), Decimal("0.00"))),
    )


async def test_an_opportunity_at_a_stage_no_longer_configured_still_shows(
    book: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    await store(book, {**ROCKET_SKATES, "stage": "value_proposition", "probability": 0.5})

    assert (await get(client, "/v1/pipeline"))["stages"][-1] == stage(
        "value_proposition", 1, "40000.00", "20000.00"
    )


async def test_the_weighted_amount_is_rounded_to_the_cent_once_not_per_deal(
    book: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    await store(book, *[{**ROCKET_SKATES, "amount": Decimal("0.01"), "probability": 0.5}] * 3)

    assert (await get(client, "/v1/pipeline"))["stages"][3] == stage("proposal", 3, "0.03", "0.02")


async def test_the_forecast_per_month_splits_each_month_by_category(
    book: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    await store(book, *ALL_DEALS)

    assert await get(client, "/v1/forecast", period="month") == {
        "period": "month",
        "cells": [
            cell("2026-09", "closed", 1, "18000.00", "18000.00"),
            cell("2026-11", "closed", 1, "30000.00", "30000.00"),
            cell("2026-11", "omitted", 1, "12000.00", "0.00"),
            cell("2026-12", "best_case", 1, "40000.00", "24000.00"),
            cell("2026-12", "commit", 1, "25000.00", "20000.00"),
            cell("2027-01", "best_case", 1, "10000.50", "6000.30"),
        ],
    }


async def test_the_forecast_per_quarter_groups_months_of_one_quarter(
    book: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    await store(book, *ALL_DEALS)

    assert (await get(client, "/v1/forecast", period="quarter"))["cells"] == [
        cell("2026-Q3", "closed", 1, "18000.00", "18000.00"),
        cell("2026-Q4", "best_case", 1, "40000.00", "24000.00"),
        cell("2026-Q4", "commit", 1, "25000.00", "20000.00"),
        cell("2026-Q4", "closed", 1, "30000.00", "30000.00"),
        cell("2026-Q4", "omitted", 1, "12000.00", "0.00"),
        cell("2027-Q1", "best_case", 1, "10000.50", "6000.30"),
    ]


async def test_an_empty_book_forecasts_nothing(book: asyncpg.Pool, client: httpx.AsyncClient) -> None:
    assert (await get(client, "/v1/forecast", period="quarter"))["cells"] == []
    assert (await get(client, "/v1/kpis"))["overall"] == as_json(
        Kpis("all", 0, 0, None, 0, 0, None, None, None)
    )


async def test_kpis_by_source_give_conversion_win_rate_deal_size_and_sales_cycle(
    book: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    await store(book, *ALL_DEALS)
    await convert(book, CONVERSIONS)

    assert (await get(client, "/v1/kpis", by="source"))["groups"] == [
        as_json(Kpis("(none)", 1, 0, Decimal("0.0000"), 0, 0, None, None, None)),
        as_json(
            Kpis(
                "hubspot",
                5,
                3,
                Decimal("0.6000"),
                1,
                0,
                Decimal("1.0000"),
                Decimal("30000.00"),
                Decimal("35"),
            )
        ),
        as_json(
            Kpis(
                "linkedin",
                4,
                3,
                Decimal("0.7500"),
                1,
                1,
                Decimal("0.5000"),
                Decimal("18000.00"),
                Decimal("20"),
            )
        ),
    ]


async def test_kpis_by_campaign_group_by_the_campaign_key(
    book: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    await store(book, *ALL_DEALS)
    await convert(book, CONVERSIONS)

    by_campaign = {k["key"]: k for k in (await get(client, "/v1/kpis", by="campaign"))["groups"]}

    webinar = by_campaign["desert-webinar"]
    assert (webinar["leads_converted"], webinar["opportunities_opened"]) == (4, 3)
    assert (webinar["lead_to_opportunity_rate"], webinar["win_rate"]) == ("0.7500", "1.0000")
    assert by_campaign["(none)"]["opportunities_opened"] == 3


async def test_overall_kpis_average_won_deals_and_take_the_median_cycle(
    book: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    await store(book, *ALL_DEALS)
    await convert(book, CONVERSIONS)

    assert (await get(client, "/v1/kpis"))["overall"] == as_json(
        Kpis(
            key="all",
            leads_converted=10,
            opportunities_opened=6,
            lead_to_opportunity_rate=Decimal("0.6000"),
            won=2,
            lost=1,
            win_rate=Decimal("0.6667"),
            average_won_amount=Decimal("24000.00"),
            median_sales_cycle_days=Decimal("27.5"),
        )
    )


async def test_an_empty_source_and_none_are_one_unattributed_key(
    book: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    await store(book, {**BIRD_SEED, "source_system": ""}, {**TORNADO_KIT, "source_system": None})
    await convert(book, [("", None), ("(none)", None)])

    [unattributed] = (await get(client, "/v1/kpis"))["groups"]

    assert (unattributed["key"], unattributed["leads_converted"], unattributed["opportunities_opened"]) == (
        "(none)",
        2,
        2,
    )


async def test_moves_and_folds_keep_the_figures_exact(book: asyncpg.Pool, client: httpx.AsyncClient) -> None:
    ids = await store(book, *ALL_DEALS)
    await convert(book, CONVERSIONS)
    before = [await get(client, path) for path in ("/v1/pipeline", "/v1/forecast", "/v1/kpis")]
    async with book.acquire() as conn:
        await fold(conn, reports.TOTALS)
        assert await conn.fetchval("SELECT count(*) FROM stage_totals WHERE NOT folded") == 0
        assert [await get(client, path) for path in ("/v1/pipeline", "/v1/forecast", "/v1/kpis")] == before

        # Rocket skates are won three weeks after opening; the anvils leave the books.
        await conn.execute(
            "UPDATE opportunities SET stage = 'closed_won', probability = 1.0, forecast_category = 'closed',"
            " is_closed = true, is_won = true, closed_at = opened_at + interval '21 days' WHERE id = $1",
            ids[0],
        )
        await conn.execute("DELETE FROM opportunities WHERE id = $1", ids[1])
        moved = [await get(client, path) for path in ("/v1/pipeline", "/v1/kpis")]
        await fold(conn, reports.TOTALS)

    assert [await get(client, path) for path in ("/v1/pipeline", "/v1/kpis")] == moved
    assert moved[0]["stages"][3] == stage("proposal", 0, "0.00", "0.00")
    hubspot = next(k for k in moved[1]["groups"] if k["key"] == "hubspot")
    assert (hubspot["won"], hubspot["median_sales_cycle_days"]) == (2, "28.0")
