"""Erasure in qualification: the person leaves every table and the outbox; statuses and history stay."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from leadflow_devstack.testing import personal_traces
from leadflow_qualification.use_cases.erasure import person_erasure_requested
from leadflow_shared.contracts.envelope import new_event
from leadflow_shared.contracts.events import PersonErasureRequested
from leadflow_shared.uow import UnitOfWorkFactory

from .test_qualification_flow import capture, lindqvist, uows

pytestmark = pytest.mark.service
__all__ = ["uows"]


async def counts(uows: UnitOfWorkFactory, lead_id: uuid.UUID) -> dict[str, Any]:
    async with uows.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT l.status, l.category, l.fit_score,"
            " (SELECT count(*) FROM status_history h WHERE h.lead_id = l.id) AS history,"
            " (SELECT count(*) FROM decisions d WHERE d.lead_id = l.id) AS decisions"
            " FROM leads l WHERE l.id = $1",
            lead_id,
        )
    assert row is not None
    return dict(row)


async def test_an_erasure_request_leaves_no_trace_of_the_person_and_is_confirmed_once_per_delivery(
    uows: UnitOfWorkFactory,
) -> None:
    surname = f"Lindqvist{uuid.uuid4().hex[:6]}"
    person = lindqvist("Annelie", last_name=surname, phone="+46701234567")
    lead_id = await capture(uows, person)
    needles = [person.email or "", surname, "701234567"]
    async with uows.pool.acquire() as conn:
        assert await personal_traces(conn, "qualification", needles), "the person is there before"
    before = await counts(uows, lead_id)
    request = PersonErasureRequested(request_id=uuid.uuid4(), lead_ids=[lead_id], email_hash="ab" * 32)

    for _ in range(2):
        async with uows() as uow:
            await person_erasure_requested(uow, request, new_event(request, source="intake"))

    async with uows.pool.acquire() as conn:
        assert await personal_traces(conn, "qualification", needles) == []
        confirmations = [
            orjson.loads(r["payload"])["data"]
            for r in await conn.fetch(
                "SELECT payload FROM outbox WHERE key = $1", str(request.request_id).encode()
            )
        ]
    assert await counts(uows, lead_id) == before
    assert confirmations == [{"request_id": str(request.request_id), "service": "qualification"}] * 2
