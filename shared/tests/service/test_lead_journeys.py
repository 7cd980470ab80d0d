"""One journey per lead on a real PostgreSQL: events about a lead carry its first correlation id, and each
fact joins the lead's timeline, served by GET /v1/leads/{id}/timeline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson
import pytest_asyncio

from leadflow_devstack.builders import captured, profile, submission, touch
from leadflow_devstack.testing import TestStack, api_client
from leadflow_intake.settings import IntakeSettings
from leadflow_shared.contracts.envelope import Envelope, new_event, trace_parent
from leadflow_shared.contracts.events import (
    LeadMerged,
    LeadStatusChanged,
    LeadSubmitted,
    LeadUpdated,
)
from leadflow_shared.db import create_pool
from leadflow_shared.outbox import Outbox


@pytest_asyncio.fixture
async def pool(service_stack: TestStack) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_stack.dsn("intake"), "intake")
    yield pool
    await pool.close()


@pytest_asyncio.fixture
async def conn(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a transaction rolled back at the end: no row of ours reaches other tests' outbox."""
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        yield conn
        await transaction.rollback()


def submitted(correlation: str) -> Envelope:
    """Maren's contact form arriving at intake, the first fact of a journey."""
    return new_event(LeadSubmitted(submission=submission()), source="intake", correlation_id=correlation)


def status_changed(lead_id: UUID, to: str = "contacted") -> LeadStatusChanged:
    return LeadStatusChanged(
        lead_id=lead_id, from_status="open", to_status=to, category=to, reason="called", actor="sales:ines"
    )


async def published(conn: asyncpg.Connection, lead_id: UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT payload FROM outbox WHERE key = $1 ORDER BY id", str(lead_id).encode())
    return [orjson.loads(row["payload"]) for row in rows]


async def journey_of(conn: asyncpg.Connection, lead_id: UUID) -> str | None:
    """The lead's journey: the correlation id of its first fact."""
    journey: str | None = await conn.fetchval(
        "SELECT correlation_id FROM lead_timeline WHERE lead_id = $1 ORDER BY at, event_id LIMIT 1", lead_id
    )
    return journey


async def test_an_event_that_follows_another_services_event_about_the_lead_keeps_that_events_journey(
    conn: asyncpg.Connection,
) -> None:
    lead_id = uuid4()
    capture = new_event(captured(lead_id=lead_id), source="intake", correlation_id="web-7")
    outbox = Outbox(conn, "qualification", journeys=True)
    await outbox.emit(status_changed(lead_id, "open"), causation=capture)
    await outbox.emit(status_changed(lead_id, "contacted"), causation=capture)
    assert not outbox.about_leads, "no journey lookup for events whose cause carried it"
    await outbox.flush()

    facts = await conn.fetch(
        "SELECT kind, correlation_id FROM lead_timeline WHERE lead_id = $1 ORDER BY at, event_id", lead_id
    )
    assert [(f["kind"], f["correlation_id"]) for f in facts] == [("lead.status_changed", "web-7")] * 2
    assert [e["correlationid"] for e in await published(conn, lead_id)] == ["web-7", "web-7"]


async def test_a_new_leads_first_event_begins_its_journey_with_the_correlation_id_of_its_cause(
    conn: asyncpg.Connection,
) -> None:
    lead_id = uuid4()
    outbox = Outbox(conn, "intake", journeys=True)
    await outbox.emit(captured(lead_id=lead_id), causation=submitted("web-1"))
    await outbox.flush()
    assert await journey_of(conn, lead_id) == "web-1"
    assert [e["correlationid"] for e in await published(conn, lead_id)] == ["web-1"]


async def test_later_events_about_the_lead_carry_its_journey_whatever_caused_them(
    conn: asyncpg.Connection,
) -> None:
    lead_id = uuid4()
    first = Outbox(conn, "intake", journeys=True)
    await first.emit(captured(lead_id=lead_id), causation=submitted("web-1"))
    await first.flush()
    later = Outbox(conn, "intake", journeys=True)
    again = LeadUpdated(lead_id=lead_id, profile=profile(), touch=touch(), changed=["country"])
    second_submission = submitted("web-2")
    await later.emit(again, causation=second_submission)
    await later.emit(status_changed(lead_id))
    await later.emit(status_changed(lead_id, "qualified"), correlation_id="sales-desk-7")
    await later.flush()
    events = await published(conn, lead_id)
    assert [e["correlationid"] for e in events] == ["web-1"] * 4
    assert {e["traceparent"].split("-")[1] for e in events} == {trace_parent("web-1", uuid4()).split("-")[1]}
    assert events[1]["causationid"] == str(second_submission.id), "the cause stays traceable"


async def test_two_events_of_a_new_lead_in_one_transaction_share_the_first_ones_journey(
    conn: asyncpg.Connection,
) -> None:
    lead_id = uuid4()
    outbox = Outbox(conn, "intake", journeys=True)
    await outbox.emit(captured(lead_id=lead_id), causation=submitted("web-1"))
    updated = LeadUpdated(lead_id=lead_id, profile=profile(), touch=touch())
    await outbox.emit(updated, causation=submitted("web-2"))
    await outbox.flush()
    assert [e["correlationid"] for e in await published(conn, lead_id)] == ["web-1", "web-1"]


async def test_each_event_about_a_lead_joins_its_timeline_with_a_summary_and_a_merge_joins_both_leads(
    conn: asyncpg.Connection,
) -> None:
    survivor, merged = uuid4(), uuid4()
    outbox = Outbox(conn, "intake", journeys=True)
    await outbox.emit(captured(lead_id=survivor), causation=submitted("s"))
    await outbox.emit(captured(lead_id=merged), causation=submitted("m"))
    await outbox.flush()
    merge = Outbox(conn, "intake", journeys=True)
    await merge.emit(
        LeadMerged(lead_id=survivor, merged_id=merged, profile=profile()), correlation_id="review-3"
    )
    await merge.flush()
    facts = await conn.fetch(
        "SELECT lead_id, kind, summary, correlation_id FROM lead_timeline WHERE lead_id = ANY($1)"
        " ORDER BY at, event_id, lead_id = $2",
        [survivor, merged],
        merged,
    )
    assert [(f["lead_id"], f["kind"], f["correlation_id"]) for f in facts] == [
        (survivor, "lead.captured", "s"),
        (merged, "lead.captured", "m"),
        (survivor, "lead.merged", "s"),
        (merged, "lead.merged", "m"),
    ]
    assert facts[0]["summary"] == "captured: web_form via website"
    assert facts[2]["summary"] == f"duplicate {merged} merged into this lead"
    assert facts[3]["summary"] == f"merged into lead {survivor}"


async def test_events_rolled_back_to_a_mark_leave_no_fact_and_outboxes_without_journeys_keep_their_ids(
    conn: asyncpg.Connection,
) -> None:
    lead_id = uuid4()
    outbox = Outbox(conn, "intake", journeys=True)
    await outbox.emit(captured(lead_id=lead_id), causation=submitted("web-1"))
    mark = outbox.mark()
    await outbox.emit(status_changed(lead_id))
    outbox.rollback_to(mark)
    await outbox.flush()
    plain = Outbox(conn, "intake")
    await plain.emit(status_changed(lead_id), correlation_id="elsewhere")
    await plain.flush()
    kinds = await conn.fetch("SELECT kind FROM lead_timeline WHERE lead_id = $1", lead_id)
    assert [k["kind"] for k in kinds] == ["lead.captured"]
    assert [e["correlationid"] for e in await published(conn, lead_id)] == ["web-1", "elsewhere"]


async def test_the_timeline_route_pages_a_leads_facts_oldest_first_and_answers_404_for_an_unknown_lead(
    pool: asyncpg.Pool, service_stack: TestStack
) -> None:
    lead_id = uuid4()
    async with pool.acquire() as conn, conn.transaction():
        outbox = Outbox(conn, "intake", journeys=True)
        capture = captured(lead_id=lead_id)
        await outbox.emit(capture, causation=submitted("web-9"))
        for status in ("contacted", "qualified", "converted"):
            await outbox.emit(status_changed(lead_id, status))
        await outbox.flush()
        # The rows would otherwise wait in the session's intake outbox for a relay that never comes.
        await conn.execute("DELETE FROM outbox WHERE key = $1", str(lead_id).encode())
    try:
        async with api_client(service_stack, IntakeSettings, [], pool) as client:
            first = await client.get(f"/v1/leads/{lead_id}/timeline", params={"limit": 3})
            rest = await client.get(
                f"/v1/leads/{lead_id}/timeline", params={"limit": 3, "cursor": first.json()["next_cursor"]}
            )
            unknown = await client.get(f"/v1/leads/{uuid4()}/timeline")
            bad_cursor = await client.get(f"/v1/leads/{lead_id}/timeline", params={"cursor": "not-ours"})
    finally:
        await pool.execute("DELETE FROM lead_timeline WHERE lead_id = $1", lead_id)
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["correlation_id"] == "web-9"
    assert page["service"] == "intake"
    assert [i["kind"] for i in page["items"]] == [
        "lead.captured",
        "lead.status_changed",
        "lead.status_changed",
    ]
    assert page["items"][1]["summary"] == "open → contacted (contacted) by sales:ines: called"
    assert {i["correlation_id"] for i in page["items"]} == {"web-9"}
    assert [i["summary"].split(" → ")[-1][:9] for i in rest.json()["items"]] == ["converted"]
    assert rest.json()["next_cursor"] is None
    assert unknown.status_code == 404
    assert bad_cursor.status_code == 422
