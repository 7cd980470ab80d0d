"""Source KPIs read from per-day totals match a plain count over every touch, lead and rejection."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from leadflow_intake.adapters import repository
from leadflow_intake.domain.kpis import source_rates
from leadflow_intake.use_cases.merge import merge_leads
from leadflow_shared.totals import fold

from .conftest import Intake
from .test_flows import submit
from .test_webhooks import new_tag

pytestmark = pytest.mark.service

# The query the endpoint ran before the totals existed: every row of the window, counted at query time.
PLAIN_BY_DAY = """
SELECT date_trunc('day', received_at) AS day, source_system AS source, channel,
       coalesce(campaign->>'utm_campaign', campaign->>'campaign_name', campaign->>'campaign_id') AS campaign,
       count(*) AS touches, count(DISTINCT lead_id) AS leads
FROM touches WHERE received_at >= $1 AND received_at < $2
GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
"""
PLAIN_TOTALS = """
SELECT (SELECT count(*) FROM touches WHERE received_at >= $1 AND received_at < $2) AS touches,
       (SELECT count(*) FROM leads WHERE created_at >= $1 AND created_at < $2) AS new_leads,
       (SELECT count(*) FROM leads WHERE created_at >= $1 AND created_at < $2
            AND merged_into IS NOT NULL) AS merged_leads,
       (SELECT count(*) FROM rejections WHERE received_at >= $1 AND received_at < $2) AS rejections
"""

SOURCES = [
    ("website", "web_form"),
    ("google_ads", "paid_ads"),
    ("zoom", "webinar"),
    ("hubspot", "content_download"),
    ("trade_show", "trade_show"),
]
# Named by utm_campaign, by the ad platform's name or id only, by an empty name, or by none at all.
CAMPAIGNS: list[dict[str, str]] = [
    {"utm_campaign": "spring-launch", "utm_source": "newsletter"},
    {"campaign_name": "Logistics Summit 2025", "campaign_id": "cmp-88"},
    {"campaign_id": "cmp-4711"},
    {"utm_campaign": ""},
    {},
]
# A quiet Monday to Sunday long before any other test's leads.
WEEK = datetime(2025, 3, 3, tzinfo=UTC)


async def plain(conn: asyncpg.Connection, since: datetime, until: datetime) -> dict[str, Any]:
    rows = [dict(r) for r in await conn.fetch(PLAIN_BY_DAY, since, until)]
    totals = dict(await conn.fetchrow(PLAIN_TOTALS, since, until))
    rates = source_rates(**totals)
    return {
        "by_day": rows,
        "totals": {**totals, "duplicate_rate": rates.duplicate_rate, "rejection_rate": rates.rejection_rate},
    }


async def served(
    intake: Intake, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    params = {name: moment.isoformat() for name, moment in (("since", since), ("until", until)) if moment}
    response = await intake.client.get("/v1/kpis/sources", params=params, headers=intake.auth("read"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    for row in body["by_day"]:
        row["day"] = datetime.fromisoformat(row["day"])
    return body


async def assert_same_as_plain_count(intake: Intake, since: datetime, until: datetime) -> None:
    got = await served(intake, since, until)
    async with intake.pool.acquire() as conn:
        expected = await plain(conn, since, until)
    assert got["by_day"] == expected["by_day"], (since, until)
    assert got["totals"] == expected["totals"], (since, until)


async def store_history(pool: asyncpg.Pool, rng: random.Random) -> list[uuid.UUID]:
    """A week of leads, each with one to four touches (some the same day, source and campaign), crowded
    around mid-morning, and rejections between them; written with their own times as a bulk load would."""
    leads: list[tuple[uuid.UUID, dict[str, Any], datetime]] = []
    touches: list[tuple[Any, ...]] = []
    rejections: list[tuple[Any, ...]] = []
    for n in range(400):
        day = WEEK + timedelta(days=rng.randrange(7))
        # Two thirds arrive between 09:00 and 10:00, so an edge may cut a day where most of it lies.
        hour = 9 + rng.random() if rng.random() < 0.66 else rng.uniform(0, 24)
        created = day + timedelta(hours=hour)
        lead_id = uuid.uuid4()
        person = {
            "first_name": "Ines",
            "last_name": f"Okafor-{n}",
            "email": f"ines.okafor.{n}@harbourfreight.example",
        }
        leads.append((lead_id, person, created))
        source, channel = rng.choice(SOURCES)
        campaign = rng.choice(CAMPAIGNS)
        received = created
        for _ in range(rng.choice([1, 1, 1, 2, 3, 4])):
            if rng.random() < 0.4:  # another touch from another source or campaign
                source, channel = rng.choice(SOURCES)
                campaign = rng.choice(CAMPAIGNS)
            touches.append(
                (lead_id, channel, source, f"{source}-{uuid.uuid4()}", json.dumps(campaign), received)
            )
            received = min(received + timedelta(hours=rng.uniform(0, 30)), WEEK + timedelta(days=7, hours=-1))
        if rng.random() < 0.15:
            rejected = day + timedelta(hours=rng.uniform(0, 24))
            rejections.append(
                (uuid.uuid4(), source, "invalid_email", json.dumps({"email": "not-an-email"}), rejected)
            )
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO leads (id, email, profile, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
            [(lead_id, person["email"], person, created) for lead_id, person, created in leads],
        )
        # In chunks, as batches of captures would add them.
        for chunk in range(0, len(touches), 97):
            await conn.execute(
                "INSERT INTO touches (lead_id, channel, source_system, source_id, campaign, occurred_at,"
                " received_at) SELECT l, c, s, i, m::jsonb, r, r"
                " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])"
                " AS t(l, c, s, i, m, r)",
                *(list(column) for column in zip(*touches[chunk : chunk + 97], strict=True)),
            )
        await conn.executemany(
            "INSERT INTO rejections (id, source_system, reason, payload, received_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            rejections,
        )
    return [lead_id for lead_id, _, _ in leads]


def windows(rng: random.Random) -> list[tuple[datetime, datetime]]:
    """Whole days, edges cutting the busy hour, before and after it, a window within one day, empty ones."""
    day = timedelta(days=1)
    hour = timedelta(hours=1)
    chosen = [
        (WEEK, WEEK + 7 * day),
        (WEEK + 2 * day, WEEK + 4 * day),
        (WEEK + 9.5 * hour, WEEK + 5 * day + 9.25 * hour),
        (WEEK + day + 0.5 * hour, WEEK + 3 * day + 23.5 * hour),
        (WEEK + day + 23 * hour, WEEK + 6 * day + 0.75 * hour),
        (WEEK + 3 * day + 9.1 * hour, WEEK + 3 * day + 9.9 * hour),
        (WEEK + 3 * day + 2 * hour, WEEK + 3 * day + 21 * hour),
        (WEEK - 30 * day, WEEK + 30 * day),
        (WEEK + 4 * day, WEEK + 4 * day),
        (WEEK + 5 * day, WEEK + 4 * day),
    ]
    for _ in range(12):
        since = WEEK + timedelta(seconds=rng.uniform(-86_400, 8 * 86_400))
        chosen.append((since, since + timedelta(seconds=rng.uniform(0, 4 * 86_400))))
    return chosen


async def test_source_kpis_match_a_plain_count_before_and_after_folds_and_merges(intake: Intake) -> None:
    rng = random.Random(20250303)
    lead_ids = await store_history(intake.pool, rng)
    tag = new_tag()
    await submit(
        intake,
        first_name="Tomasz",
        last_name="Wiśniewski",
        email=f"t.wisniewski.{tag}@baltic-logistics.example",
        company="Baltic Logistics",
        channel="web_form",
        source_system="website",
        source_id=f"kpi-{tag}",
        campaign={"utm_campaign": "spring-launch"},
    )
    await intake.drain()
    chosen = windows(rng)
    now = datetime.now(UTC)
    chosen += [
        (now - timedelta(days=30), now + timedelta(minutes=1)),
        (now - timedelta(hours=1), now + timedelta(hours=1)),
    ]

    for since, until in chosen:
        await assert_same_as_plain_count(intake, since, until)

    # Merges move touches to the survivor (sometimes onto a day, source and campaign it has already) and
    # mark the merged lead, whose creation stays where it was.
    for survivor, loser in zip(lead_ids[0:60:2], lead_ids[1:60:2], strict=True):
        async with intake.uow() as uow:
            await merge_leads(uow, survivor, loser)
    for since, until in chosen:
        await assert_same_as_plain_count(intake, since, until)

    async with intake.pool.acquire() as conn:
        assert await fold(conn, repository.TOTALS) > 0
        assert await conn.fetchval("SELECT count(*) FROM source_day_totals WHERE NOT folded") == 0
    for since, until in chosen:
        await assert_same_as_plain_count(intake, since, until)


async def test_the_default_window_is_the_last_thirty_days(intake: Intake) -> None:
    body = await served(intake)
    since, until = datetime.fromisoformat(body["since"]), datetime.fromisoformat(body["until"])
    assert since == until - timedelta(days=30)
    async with intake.pool.acquire() as conn:
        expected = await plain(conn, since, until)
    assert (body["by_day"], body["totals"]) == (expected["by_day"], expected["totals"])


MEMBERS = (
    "SELECT day, source, channel, campaign_key, lead_id, touches FROM source_day_leads ORDER BY 1, 2, 3, 4, 5"
)
PLAIN_MEMBERS = """
SELECT (received_at AT TIME ZONE 'UTC')::date AS day, source_system AS source, channel,
       coalesce('=' || coalesce(campaign->>'utm_campaign', campaign->>'campaign_name',
                                campaign->>'campaign_id'), '') AS campaign_key,
       lead_id, count(*) AS touches
FROM touches GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
"""


async def test_the_leads_behind_distinct_counts_follow_erased_touches(intake: Intake) -> None:
    async with intake.pool.acquire() as conn:
        assert await conn.fetch(MEMBERS) == await conn.fetch(PLAIN_MEMBERS)
        erasure = conn.transaction()
        await erasure.start()
        try:
            await conn.execute(
                "DELETE FROM touches WHERE id IN (SELECT id FROM touches ORDER BY id DESC LIMIT 40)"
            )
            await conn.execute("DELETE FROM touches WHERE lead_id = (SELECT lead_id FROM touches LIMIT 1)")
            assert await conn.fetch(MEMBERS) == await conn.fetch(PLAIN_MEMBERS)
        finally:
            await erasure.rollback()
