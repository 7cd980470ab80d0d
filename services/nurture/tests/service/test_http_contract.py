"""Requests that once wiped nurture's tracks or failed in PostgreSQL are refused with 422."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from leadflow_devstack.testing import TestStack, api_client
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.entrypoints import http
from leadflow_nurture.settings import NurtureSettings
from leadflow_shared import browsing, pagination
from leadflow_shared.db import create_pool

pytestmark = pytest.mark.service

SOMEONE = "8f1c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f"


@pytest_asyncio.fixture(scope="module")
async def client(service_stack: TestStack) -> AsyncIterator[httpx.AsyncClient]:
    """Nurture's routes in-process on the real database, with an admin token."""
    pool = await create_pool(service_stack.dsn("nurture"), "nurture")
    state = {"tracks": TrackStore()}
    async with api_client(service_stack, NurtureSettings, [http.router], pool, "admin", state) as client:
        yield client
    await asyncio.wait_for(pool.close(), 10)


def drip(**fields: Any) -> dict[str, Any]:
    track: dict[str, Any] = {
        "name": "contract-drip",
        "steps": [{"channel": "drip_email", "delay": "2d", "content_ref": "drip/roi", "subject": "Your ROI"}],
    }
    track.update(fields)
    return track


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"tracks": []},
        [],
        {"tracks": [drip(steps=[{**drip()["steps"][0], "delay": {"days": 10**12}}])]},
        {"tracks": [drip(steps=[{**drip()["steps"][0], "delay": "99999999999d"}])]},
        {"tracks": [drip(description="Budget\x00drip")]},
        {"tracks": [drip(steps=[{**drip()["steps"][0], "content_ref": "drip/\x00roi"}])]},
        {"tracks": [drip(entry={"industries": ["logistics\x00"]})]},
        {"tracks": [drip(entry={"min_fit": 1e308})]},
    ],
)
async def test_a_track_set_that_would_wipe_or_break_the_tracks_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, body: Any
) -> None:
    before = await client.get("/v1/tracks")
    assert before.status_code == 200, before.text
    response = await client.put("/v1/tracks", json=body)
    assert response.status_code == 422, response.text
    after = await client.get("/v1/tracks")
    assert after.json() == before.json()
    assert after.json()["tracks"]


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": browsing.encode("enrolled", 2**63, SOMEONE)},
        {"cursor": browsing.encode("enrolled", -1, SOMEONE)},
        {"cursor": browsing.encode("enrolled", "\uff11\uff12", SOMEONE)},
        {"cursor": pagination.encode_cursor("enrolled", 2**63 - 1)},
        {"cursor": "%%%"},
        {"track": "budget\x00drip"},
        {"sort": "touches_sent", "cursor": browsing.encode("touches_sent", "3.5", SOMEONE)},
        {"sort": "-engagement_points", "cursor": browsing.encode("-engagement_points", 2**63, SOMEONE)},
    ],
)
async def test_an_enrollment_query_postgresql_cannot_run_is_refused_with_422(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get("/v1/enrollments", params=params)
    assert response.status_code == 422, response.text


async def test_the_last_cursor_postgresql_holds_still_pages(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/enrollments", params={"cursor": browsing.encode("enrolled", 2**63 - 1, SOMEONE)}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}
