"""The funnel KPIs over HTTP, counted by Postgres from the status history of six journeys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from leadflow_devstack.testing import TestStack, api_client
from leadflow_qualification.entrypoints import http
from leadflow_qualification.settings import QualificationSettings
from leadflow_qualification.use_cases import config as cfg
from leadflow_shared.contracts.lead import Campaign, Channel, LeadProfile, Touch

pytestmark = pytest.mark.service

# The service keeps its configuration store in its definition's state, as bootstrap wires it.
STATE = {"config": cfg.ConfigStore()}


# Twenty-five days ago, so that an open lead is stale by now and a contacted one unresponsive.
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=25)

# Per lead: its steps (hours after START, status, category, reason), source, campaign and owner.
JOURNEYS: dict[str, tuple[list[tuple[float, str, str, str | None]], str, str | None, str | None]] = {
    # won: contacted after 4h, qualified after 2 days, converted a day later
    "ada": (
        [
            (0, "open", "open", None),
            (4, "contacted", "contacted", None),
            (52, "qualified", "qualified", "rule"),
            (76, "converted", "converted", None),
        ],
        "hubspot",
        "black-friday",
        "lena",
    ),
    # contacted after 10h, then no budget: nurture
    "ben": (
        [
            (0, "open", "open", None),
            (10, "contacted", "contacted", None),
            (34, "nurturing", "nurturing", "no_budget"),
        ],
        "hubspot",
        "black-friday",
        "lena",
    ),
    # never contacted: open for 25 days, stale
    "cleo": ([(0, "open", "open", None)], "linkedin", None, None),
    # archived at once as not ICP
    "dev": (
        [(0, "open", "open", None), (0.1, "archived", "archived", "not_icp")],
        "linkedin",
        "black-friday",
        "lena",
    ),
    # contacted, then silent for weeks
    "eli": (
        [(0, "open", "open", None), (6, "contacted", "contacted", None)],
        "hubspot",
        "black-friday",
        "jonas",
    ),
    # qualified, found without need later, passed unqualified on its way to nurture
    "fay": (
        [
            (0, "open", "open", None),
            (2, "qualified", "qualified", None),
            (30, "unqualified", "unqualified", "no_need"),
            (30, "nurturing", "nurturing", "no_need"),
        ],
        "hubspot",
        "black-friday",
        "lena",
    ),
}


@pytest_asyncio.fixture(scope="module")
async def client(pool: asyncpg.Pool, service_stack: TestStack) -> AsyncIterator[httpx.AsyncClient]:
    """Qualification's routes in-process on the real database, with a read token, and the six journeys."""
    ids = [await store(pool, name, *journey) for name, journey in JOURNEYS.items()]
    async with api_client(service_stack, QualificationSettings, [http.router], pool, state=STATE) as client:
        yield client
    await pool.execute("DELETE FROM status_history WHERE lead_id = ANY($1)", ids)
    await pool.execute("DELETE FROM leads WHERE id = ANY($1)", ids)


async def store(
    pool: asyncpg.Pool,
    name: str,
    steps: list[tuple[float, str, str, str | None]],
    source: str,
    campaign: str | None,
    owner: str | None,
) -> uuid.UUID:
    lead_id = uuid.uuid4()
    touch = Touch(
        channel=Channel.WEB_FORM,
        source_system=source,
        campaign=Campaign(utm_campaign=campaign),
        occurred_at=START,
    )
    last = steps[-1]
    await pool.execute(
        "INSERT INTO leads (id, status, category, profile, touch, owner, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        lead_id,
        last[1],
        last[2],
        LeadProfile(first_name=name.title()).model_dump(mode="json"),
        touch.model_dump(mode="json"),
        owner,
        START,
    )
    previous = None
    for hours, status, category, reason in steps:
        await pool.execute(
            "INSERT INTO status_history (lead_id, from_status, to_status, category, reason, actor, at,"
            " reason_code) VALUES ($1, $2, $3, $4, 'journey', 'test', $5, $6)",
            lead_id,
            previous,
            status,
            category,
            START + timedelta(hours=hours),
            reason,
        )
        previous = status
    return lead_id


async def funnel(client: httpx.AsyncClient, by: str | None = None, days: float = 1) -> Any:
    window = {
        "from": (START - timedelta(hours=1)).isoformat(),
        "to": (START + timedelta(days=days)).isoformat(),
    }
    response = await client.get("/v1/kpis/funnel", params={**window, **({"by": by} if by else {})})
    assert response.status_code == 200, response.text
    return response.json()


async def test_leads_are_counted_by_their_current_status_in_order_of_arrival(
    client: httpx.AsyncClient,
) -> None:
    report = (await funnel(client))["report"]

    assert report["leads"] == 6
    assert list(report["by_status"].items()) == [
        ("converted", 1),
        ("nurturing", 2),
        ("open", 1),
        ("archived", 1),
        ("contacted", 1),
    ]
    assert report["by_category"] == {"converted": 1, "nurturing": 2, "open": 1, "archived": 1, "contacted": 1}


async def test_conversion_rates_follow_each_lead_forward_in_time(client: httpx.AsyncClient) -> None:
    conversion = (await funnel(client))["report"]["conversion"]

    assert conversion == {
        "open->contacted": 0.5,
        "contacted->qualified": round(1 / 3, 4),
        "qualified->converted": 0.5,
        "open->qualified": round(2 / 6, 4),
        "open->converted": round(1 / 6, 4),
    }


async def test_median_time_to_first_contact_is_in_hours(client: httpx.AsyncClient) -> None:
    assert (await funnel(client))["report"]["median_hours_to_first_contact"] == 6


async def test_median_time_in_each_status_ignores_the_status_a_lead_is_still_in(
    client: httpx.AsyncClient,
) -> None:
    in_status = (await funnel(client))["report"]["median_hours_in_status"]

    assert in_status["contacted"] == 36  # ada 48h, ben 24h
    assert in_status["qualified"] == 26  # ada 24h, fay 28h
    assert "converted" not in in_status


async def test_stale_and_unresponsive_leads_are_counted_from_their_last_change(
    client: httpx.AsyncClient,
) -> None:
    report = (await funnel(client))["report"]

    assert report["stale"] == 1  # cleo, open for 25 days
    assert report["unresponsive"] == 1  # eli, contacted 25 days ago


async def test_each_disqualified_lead_counts_once_per_reason(client: httpx.AsyncClient) -> None:
    reasons = (await funnel(client))["report"]["disqualification_reasons"]

    assert reasons == {"no_budget": 1, "not_icp": 1, "no_need": 1}


async def test_reports_split_by_source(client: httpx.AsyncClient) -> None:
    groups = (await funnel(client, by="source"))["groups"]

    assert list(groups) == ["hubspot", "linkedin"]
    assert groups["linkedin"]["leads"] == 2
    assert groups["hubspot"]["by_status"]["converted"] == 1


async def test_leads_without_an_owner_or_campaign_are_grouped_under_none(client: httpx.AsyncClient) -> None:
    by_owner = (await funnel(client, by="owner"))["groups"]
    by_campaign = (await funnel(client, by="campaign"))["groups"]

    assert by_owner["(none)"]["leads"] == 1
    assert by_owner["jonas"]["unresponsive"] == 1
    assert (by_campaign["(none)"]["leads"], by_campaign["black-friday"]["leads"]) == (1, 5)


async def test_a_window_without_leads_gives_an_empty_report(client: httpx.AsyncClient) -> None:
    report = (await funnel(client, days=-1 / 48))["report"]

    assert report["leads"] == 0
    assert report["median_hours_to_first_contact"] is None
    assert all(rate is None for rate in report["conversion"].values())
