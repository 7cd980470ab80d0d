"""Requests that once failed in PostgreSQL, in date arithmetic or in later sweeps are refused with 422."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from leadflow_devstack.testing import TestStack, api_client
from leadflow_qualification.entrypoints import http
from leadflow_qualification.settings import QualificationSettings
from leadflow_qualification.use_cases import config as cfg

pytestmark = pytest.mark.service

# The service keeps its configuration store in its definition's state, as bootstrap wires it.
STATE = {"config": cfg.ConfigStore()}


@pytest_asyncio.fixture(scope="module")
async def client(pool: asyncpg.Pool, service_stack: TestStack) -> AsyncIterator[httpx.AsyncClient]:
    """Qualification's routes in-process on the real database, with an admin token."""
    async with api_client(
        service_stack, QualificationSettings, [http.router], pool, "admin", STATE
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/leads", {"owner": "ana\x00"}),
        ("/v1/leads", {"status": "new\x00"}),
        ("/v1/kpis/funnel", {"from": "0001-01-01T00:00:00+14:00"}),
        ("/v1/kpis/funnel", {"to": "0001-01-10T00:00:00Z"}),
        ("/v1/kpis/funnel", {"to": "9999-12-31T23:59:59-14:00"}),
    ],
)
async def test_a_query_the_database_cannot_run_is_refused_with_422(
    client: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "limits",
    [
        {"open": {"stale_after_hours": 1e308}},
        {"contacted": {"stale_after_hours": 72, "unresponsive_after_hours": 1e300}},
    ],
)
async def test_a_staleness_limit_no_sweep_can_compute_is_refused_and_sweeps_go_on(
    client: httpx.AsyncClient, limits: dict[str, Any]
) -> None:
    before = await client.get("/v1/staleness")
    response = await client.put("/v1/staleness", json={"limits": limits})
    assert response.status_code == 422, response.text
    assert (await client.get("/v1/staleness")).json() == before.json()
    swept = await client.post("/v1/staleness/sweep")
    assert swept.status_code == 200, swept.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/statuses", {"name": "waiting\x00", "category": "contacted"}),
        ("post", "/v1/statuses", {"name": "w" * 201, "category": "contacted"}),
        (
            "put",
            "/v1/assignment",
            {"teams": [{"name": "emea", "members": ["ana\x00"]}], "default_team": "emea"},
        ),
        (
            "put",
            "/v1/assignment",
            {
                "teams": [{"name": "emea", "members": ["ana"], "max_open_leads": 10**30}],
                "default_team": "emea",
            },
        ),
    ],
)
async def test_a_configuration_postgresql_cannot_store_is_refused_with_422(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any]
) -> None:
    response = await client.request(method, path, json=body)
    assert response.status_code == 422, response.text


async def test_criteria_with_a_timeline_no_date_can_hold_are_refused(client: httpx.AsyncClient) -> None:
    criteria = (await client.get("/v1/criteria")).json()
    criteria["qualifying"]["timeline"]["max_days"] = 10**9
    response = await client.put("/v1/criteria", json=criteria)
    assert response.status_code == 422, response.text
    assert (await client.get("/v1/criteria")).json()["version"] == criteria["version"]


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("contacted", {"actor": "ana\x00"}),
        ("sales-report", {"actor": "ana", "budget_amount": "1e30"}),
        ("sales-report", {"actor": "ana", "timeline_days": 10**9}),
        ("qualify", {"actor": "ana", "reason": "signed\x00"}),
        ("status", {"actor": "ana", "reason": "called", "status": "x" * 201}),
    ],
)
async def test_a_sales_update_postgresql_cannot_store_is_refused_with_422(
    client: httpx.AsyncClient, action: str, body: dict[str, Any]
) -> None:
    response = await client.post(f"/v1/leads/5f0c8a1e-2b3d-4c5e-9f60-718293a4b5c6/{action}", json=body)
    assert response.status_code == 422, response.text
