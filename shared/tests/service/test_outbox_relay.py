"""The outbox relay on a real PostgreSQL: order, marking, and one relay per service at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
import pytest_asyncio

from leadflow_devstack.testing import TestStack
from leadflow_shared.contracts.envelope import TYPE_HEADER
from leadflow_shared.contracts.events import LeadStatusChanged
from leadflow_shared.db import create_pool
from leadflow_shared.outbox import Outbox, OutboxRelay


class RecordingProducer:
    """Stands in for the Kafka producer: keeps what it was asked to send, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None) -> Any:
        self.sent.append((topic, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


@pytest_asyncio.fixture
async def pools(service_stack: TestStack) -> AsyncIterator[dict[str, asyncpg.Pool]]:
    pools = {name: await create_pool(service_stack.dsn(name), name) for name in ("intake", "qualification")}
    for pool in pools.values():
        await pool.execute("DELETE FROM outbox")
    yield pools
    for pool in pools.values():
        # Other tests of the session read these schemas' outboxes: leave no row of ours behind.
        await pool.execute("DELETE FROM outbox")
        await pool.close()


async def put(pool: asyncpg.Pool, *values: bytes) -> None:
    await pool.executemany(
        "INSERT INTO outbox (topic, key, payload) VALUES ('t', NULL, $1)", [(v,) for v in values]
    )


async def test_the_relay_publishes_rows_in_order_and_marks_them_published(
    pools: dict[str, asyncpg.Pool],
) -> None:
    producer = RecordingProducer()
    relay = OutboxRelay(pools["intake"], producer, "intake")
    await put(pools["intake"], b"first", b"second", b"third")
    assert await relay.publish_pending() == 3
    assert [value for _, value in producer.sent] == [b"first", b"second", b"third"]
    assert await pools["intake"].fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    assert await relay.publish_pending() == 0


async def test_a_relay_waits_for_its_own_services_lock_but_not_for_another_services(
    pools: dict[str, asyncpg.Pool],
) -> None:
    intake_relay = OutboxRelay(pools["intake"], RecordingProducer(), "intake")
    qualification_relay = OutboxRelay(pools["qualification"], RecordingProducer(), "qualification")
    await put(pools["intake"], b"lead.captured")
    await put(pools["qualification"], b"lead.status_changed")
    async with pools["intake"].acquire() as conn, conn.transaction():
        # Another intake replica's relay is in the middle of a round.
        await conn.execute(
            "SELECT pg_advisory_xact_lock($1::int4, $2::int4)", OutboxRelay.LOCK_CLASS, intake_relay.lock_key
        )
        assert await intake_relay.publish_pending() is None
        assert await qualification_relay.publish_pending() == 1
    assert await intake_relay.publish_pending() == 1


async def test_housekeeping_forgets_old_published_rows_and_old_inbox_records_only(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["intake"]
    producer: Any = RecordingProducer()
    relay = OutboxRelay(pool, producer, "intake", retention_s=60, inbox_retention_s=3600)
    await put(pool, b"old", b"recent", b"unsent")
    await pool.execute(
        "UPDATE outbox SET published_at = now() - interval '2 minutes' WHERE payload = 'old';"
        " UPDATE outbox SET published_at = now() WHERE payload = 'recent'"
    )
    await pool.execute(
        "INSERT INTO inbox (consumer, event_id, processed_at) VALUES"
        " ('housekeeping-test', gen_random_uuid(), now() - interval '2 hours'),"
        " ('housekeeping-test', gen_random_uuid(), now())"
    )
    await relay._purge()
    left = [r["payload"] for r in await pool.fetch("SELECT payload FROM outbox ORDER BY id")]
    assert left == [b"recent", b"unsent"]
    kept = await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'housekeeping-test'")
    assert kept == 1


class HeaderRecordingProducer(RecordingProducer):
    """Keeps the key and headers of every message too; its futures fail when told to."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.messages: list[tuple[bytes | None, Any]] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None, headers: Any = None) -> Any:
        self.messages.append((key, headers))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail:
            done.set_exception(ConnectionError("broker went away"))
        else:
            done.set_result(None)
        return done


async def test_the_relay_sends_each_rows_key_and_headers_as_the_outbox_wrote_them(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["qualification"]
    async with pool.acquire() as conn, conn.transaction():
        outbox = Outbox(conn, "qualification")
        first = await outbox.emit(_status_changed())
        second = await outbox.emit(_status_changed())
        await outbox.put_many([("t.dlq", b"lead-1", b"{}", [("dlq.reason", "bad"), ("dlq.offset", "7")])])
        await outbox.flush()
    await put(pool, b"from elsewhere")
    producer = HeaderRecordingProducer()
    relay = OutboxRelay(pool, producer, "qualification")

    assert await relay.publish_pending() == 4
    assert producer.messages == [
        (first.key(), [(TYPE_HEADER, b"lead.status_changed")]),
        (second.key(), [(TYPE_HEADER, b"lead.status_changed")]),
        (b"lead-1", [("dlq.reason", b"bad"), ("dlq.offset", b"7")]),
        (None, None),
    ]


async def test_rows_whose_delivery_fails_stay_unpublished_for_the_next_round(
    pools: dict[str, asyncpg.Pool],
) -> None:
    pool = pools["intake"]
    await put(pool, b"first", b"second")
    relay = OutboxRelay(pool, HeaderRecordingProducer(fail=True), "intake")

    with pytest.raises(ConnectionError):
        await relay.publish_pending()

    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 2
    relay = OutboxRelay(pool, HeaderRecordingProducer(), "intake")
    assert await relay.publish_pending() == 2


def _status_changed() -> LeadStatusChanged:
    return LeadStatusChanged(
        lead_id=uuid4(), from_status=None, to_status="open", category="open", reason="new", actor="rule"
    )
