"""Qualification's lead list as a console browses it: searched, sorted by score either way, paged, as CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator

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


TAG = uuid.uuid4().hex[:8]
# first name, company, fit score (None: not scored yet), owner
LEADS = [
    ("Lena", "Hanse Kontor", 71.5, "jonas"),
    ("Piet", "Elbe Werft", 88.0, None),
    ("Ugo", "Po Valley", None, "jonas"),
]


@pytest_asyncio.fixture(scope="module")
async def client(pool: asyncpg.Pool, service_stack: TestStack) -> AsyncIterator[httpx.AsyncClient]:
    rows = [
        (
            uuid.uuid4(),
            {"first_name": first, "email": f"{first.lower()}@{TAG}.example", "company": f"{company} {TAG}"},
            score,
            owner,
        )
        for first, company, score, owner in LEADS
    ]
    await pool.executemany(
        "INSERT INTO leads (id, status, category, profile, fit_score, owner)"
        " VALUES ($1, 'open', 'open', $2, $3, $4)",
        rows,
    )
    async with api_client(service_stack, QualificationSettings, [http.router], pool, state=STATE) as client:
        yield client
    await asyncio.wait_for(
        pool.execute("DELETE FROM leads WHERE id = ANY($1::uuid[])", [r[0] for r in rows]), 10
    )


async def test_leads_sort_by_fit_score_either_way_with_the_unscored_last_and_page_on(
    client: httpx.AsyncClient,
) -> None:
    best = await client.get("/v1/leads", params={"q": TAG, "sort": "-fit_score", "limit": 2})
    assert best.status_code == 200, best.text
    assert [i["first_name"] for i in best.json()["items"]] == ["Piet", "Lena"]
    rest = await client.get(
        "/v1/leads", params={"q": TAG, "sort": "-fit_score", "limit": 2, "cursor": best.json()["next_cursor"]}
    )
    assert [i["first_name"] for i in rest.json()["items"]] == ["Ugo"]
    worst = await client.get("/v1/leads", params={"q": TAG, "sort": "fit_score"})
    assert [i["first_name"] for i in worst.json()["items"]] == ["Ugo", "Lena", "Piet"]


async def test_leads_are_searched_by_company_and_filtered_by_owner_and_exported_as_csv(
    client: httpx.AsyncClient,
) -> None:
    elbe = await client.get("/v1/leads", params={"q": f"elbe werft {TAG}"})
    assert [i["company"] for i in elbe.json()["items"]] == [f"Elbe Werft {TAG}"]
    exported = await client.get(
        "/v1/leads", params={"q": TAG, "owner": "jonas", "sort": "created_at", "format": "csv"}
    )
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["first_name"] for r in rows) == ["Lena", "Ugo"]
    assert {r["owner"] for r in rows} == {"jonas"}
    assert [r["fit_score"] for r in rows if r["first_name"] == "Ugo"] == [""]
