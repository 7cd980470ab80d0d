"""Erasure in opportunity: the contact and whatever names the person go; accounts, amounts and stages stay."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import orjson
import pytest

from leadflow_devstack.testing import personal_traces
from leadflow_opportunity.use_cases import conversion
from leadflow_opportunity.use_cases.erasure import person_erasure_requested
from leadflow_shared.contracts.envelope import new_event
from leadflow_shared.contracts.events import PersonErasureRequested
from leadflow_shared.uow import UnitOfWorkFactory

from .test_conversion import NOW, pool, qualified, uow

pytestmark = pytest.mark.service
__all__ = ["pool", "uow"]


async def kpi_figures(pool: asyncpg.Pool, account_id: uuid.UUID) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM contacts WHERE account_id = $1) AS contacts,"
        " (SELECT sum(amount) FROM opportunities WHERE account_id = $1) AS amount,"
        " (SELECT array_agg(stage) FROM opportunities WHERE account_id = $1) AS stages,"
        " (SELECT count(*) FROM converted_leads WHERE account_id = $1) AS converted",
        account_id,
    )
    return dict(row)


async def test_an_erased_contact_keeps_its_account_and_opportunity_and_loses_its_person(
    pool: asyncpg.Pool, uow: UnitOfWorkFactory
) -> None:
    tag = uuid.uuid4().hex[:6]
    email = f"lovelace{tag}@analytical-engines.example"
    lead = qualified(email, f"Analytical Engines {tag}", f"analytical-engines-{tag}.example")
    async with uow() as u:
        outcome = await conversion.convert_qualified(u, None, lead, NOW)
    assert outcome.opportunity_id is not None
    needles = [email, f"lovelace{tag}"]
    async with pool.acquire() as conn:
        assert await personal_traces(conn, "opportunity", needles), "the person is there before"
    before = await kpi_figures(pool, outcome.account_id)
    request = PersonErasureRequested(request_id=uuid.uuid4(), lead_ids=[lead.lead_id])

    for _ in range(2):
        async with uow() as u:
            await person_erasure_requested(u, request, new_event(request, source="intake"))

    async with pool.acquire() as conn:
        assert await personal_traces(conn, "opportunity", needles) == []
    assert await kpi_figures(pool, outcome.account_id) == before
    confirmations = await pool.fetch(
        "SELECT payload FROM outbox WHERE key = $1", str(request.request_id).encode()
    )
    assert {orjson.loads(r["payload"])["type"] for r in confirmations} == {"opportunity.person_erased"}
