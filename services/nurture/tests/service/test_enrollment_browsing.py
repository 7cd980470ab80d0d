"""Nurture's enrollment list as a console browses it: searched by track or the lead, sorted, paged, as CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio

from leadflow_devstack.testing import TestStack, api_client
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.entrypoints import http
from leadflow_nurture.settings import NurtureSettings
from leadflow_shared.db import create_pool

pytestmark = pytest.mark.service

TAG = uuid.uuid4().hex[:8]
TRACK = f"browse-{TAG}"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# first name, company, engagement points
PEOPLE = [("Signe", "Aarhus Ure", 12), ("Tove", "Bergen Fisk", 40), ("Ulla", "Cork Linen", 3)]


@pytest_asyncio.fixture(scope="module")
async def client(service_stack: TestStack) -> AsyncIterator[httpx.AsyncClient]:
    pool = await create_pool(service_stack.dsn("nurture"), "nurture")
    leads = [uuid.uuid4() for _ in PEOPLE]
    for n, (lead_id, (first, company, points)) in enumerate(zip(leads, PEOPLE, strict=True)):
        profile = {"first_name": first, "email": f"{first.lower()}@{TAG}.example", "company": company}
        await pool.execute(
            "INSERT INTO leads (id, status, profile) VALUES ($1, 'nurturing', $2)", lead_id, profile
        )
        await pool.execute(
            "INSERT INTO enrollments"
            " (id, lead_id, track, track_version, source, status, started_at, engagement_points)"
            " VALUES ($1, $2, $3, 1, 'disqualified', 'ended', $4, $5)",
            uuid.uuid4(),
            lead_id,
            TRACK,
            START + timedelta(days=n),
            points,
        )
    async with api_client(
        service_stack, NurtureSettings, [http.router], pool, state={"tracks": TrackStore()}
    ) as c:
        yield c
    await asyncio.wait_for(pool.close(), 10)


async def test_enrollments_sort_by_engagement_either_way_and_page_on(client: httpx.AsyncClient) -> None:
    top = await client.get(
        "/v1/enrollments", params={"track": TRACK, "sort": "-engagement_points", "limit": 2}
    )
    assert top.status_code == 200, top.text
    assert [e["email"].split("@")[0] for e in top.json()["items"]] == ["tove", "signe"]
    rest = await client.get(
        "/v1/enrollments",
        params={
            "track": TRACK,
            "sort": "-engagement_points",
            "limit": 2,
            "cursor": top.json()["next_cursor"],
        },
    )
    assert [e["engagement_points"] for e in rest.json()["items"]] == [3]
    oldest = await client.get("/v1/enrollments", params={"q": TRACK, "sort": "started_at"})
    assert [e["company"] for e in oldest.json()["items"]] == ["Aarhus Ure", "Bergen Fisk", "Cork Linen"]


async def test_enrollments_are_found_by_the_leads_company_and_exported_as_csv(
    client: httpx.AsyncClient,
) -> None:
    found = await client.get("/v1/enrollments", params={"q": "bergen fisk", "track": TRACK})
    assert [e["company"] for e in found.json()["items"]] == ["Bergen Fisk"]
    exported = await client.get(
        "/v1/enrollments", params={"track": TRACK, "sort": "-started_at", "format": "csv"}
    )
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["company"] for r in rows] == ["Cork Linen", "Bergen Fisk", "Aarhus Ure"]
    assert {r["track"] for r in rows} == {TRACK}
