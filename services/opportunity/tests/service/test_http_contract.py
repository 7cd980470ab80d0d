"""Requests that once overflowed opportunity's columns or date arithmetic are refused with 422."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from leadflow_devstack.testing import TestStack, api_client
from leadflow_opportunity.adapters.config_store import ConfigStore
from leadflow_opportunity.entrypoints import http
from leadflow_opportunity.settings import OpportunitySettings
from leadflow_shared import browsing, pagination
from leadflow_shared.db import create_pool

STATE = {"config": ConfigStore()}

pytestmark = pytest.mark.service

SOMEONE = uuid.UUID("5f0c8a1e-2b3d-4c5e-9f60-718293a4b5c6")


@pytest_asyncio.fixture(scope="module")
async def client(service_stack: TestStack) -> AsyncIterator[httpx.AsyncClient]:
    """Opportunity's routes in-process on the real database, with an admin token."""
    pool = await create_pool(service_stack.dsn("opportunity"), "opportunity")
    async with api_client(service_stack, OpportunitySettings, [http.router], pool, "admin", STATE) as client:
        yield client
    await asyncio.wait_for(pool.close(), 10)


@pytest.mark.parametrize(
    "params",
    [
        {"stage": "proposal\x00"},
        {"owner": "\x00"},
        {"cursor": pagination.encode_cursor("close_date", SOMEONE)},
        {"cursor": pagination.encode_cursor("close_date", "2026-03-01", "nobody")},
        {"cursor": "@@@"},
        {"sort": "-amount", "cursor": browsing.encode("-amount", "1e999999", SOMEONE)},
        {"sort": "amount", "cursor": browsing.encode("amount", "NaN", SOMEONE)},
        {"sort": "close_date", "cursor": browsing.encode("close_date", "someday", SOMEONE)},
        {"sort": "name", "cursor": browsing.encode("name", "Deal\x00", SOMEONE)},
        {"q": "deal\x00"},
        {"limit": 501},
    ],
)
async def test_an_opportunity_query_postgresql_cannot_run_is_refused_with_422(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get("/v1/opportunities", params=params)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/v1/opportunities/{SOMEONE}/stage", {"stage": "proposal", "amount": "1e20"}),
        (f"/v1/opportunities/{SOMEONE}/stage", {"stage": "proposal\x00"}),
        (f"/v1/opportunities/{SOMEONE}/stage", {"stage": "closed_lost", "lost_reason": "price\x00"}),
        (f"/v1/contacts/{SOMEONE}/signals", {"budget_amount": "1e30"}),
        (f"/v1/contacts/{SOMEONE}/signals", {"timeline_days": 10**9}),
        (f"/v1/contacts/{SOMEONE}/signals", {"company_size": 10**30}),
    ],
)
async def test_a_move_or_signal_no_column_can_hold_is_refused_with_422(
    client: httpx.AsyncClient, path: str, body: dict[str, Any]
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("/v1/lost-reasons", {"reasons": ["price\x00"]}),
        ("/v1/opportunity-criteria", {"timeline_within_days": 10**9}),
        ("/v1/opportunity-criteria", {"amount": {"default_amount": "1e40"}}),
    ],
)
async def test_a_configuration_no_column_can_hold_is_refused_and_kept_as_it_was(
    client: httpx.AsyncClient, path: str, change: dict[str, Any]
) -> None:
    before = (await client.get(path)).json()
    response = await client.put(path, json={**before, **change})
    assert response.status_code == 422, response.text
    assert (await client.get(path)).json() == before
