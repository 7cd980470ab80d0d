"""The relay on the real Kafka and PostgreSQL: a row Kafka would never take is parked and the rest flow on."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY

from leadflow_devstack.testing import TestStack, produce, read_topic, wait_until
from leadflow_shared.consumer import EventConsumer, Subscription
from leadflow_shared.contracts.topics import dlq
from leadflow_shared.db import create_pool
from leadflow_shared.limits import message_limit
from leadflow_shared.outbox import DEFAULT_MAX_MESSAGE_BYTES, OutboxRelay, message_size

pytestmark = pytest.mark.service


@pytest_asyncio.fixture
async def pool(service_stack: TestStack) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_stack.dsn("intake"), "intake")
    await pool.execute("DELETE FROM outbox")
    yield pool
    # Other tests of the session read this outbox: leave no row of ours behind, parked ones included.
    await pool.execute("DELETE FROM outbox")
    await pool.close()


async def new_producer(stack: TestStack) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.bootstrap,
        enable_idempotence=True,
        acks="all",
        # Larger than what the broker takes, so that the broker's own check is the one met.
        max_request_size=4 * 1_048_576,
    )
    await producer.start()
    return producer


@pytest_asyncio.fixture
async def producer(service_stack: TestStack) -> AsyncIterator[AIOKafkaProducer]:
    producer = await new_producer(service_stack)
    yield producer
    await producer.stop()


async def put(pool: asyncpg.Pool, topic: str, key: bytes, payload: bytes) -> int:
    """Insert a row as a writer that skipped the size check would; answer its id."""
    row_id: int = await pool.fetchval(
        "INSERT INTO outbox (topic, key, payload) VALUES ($1, $2, $3) RETURNING id", topic, key, payload
    )
    return row_id


async def state(pool: asyncpg.Pool, row_id: int) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT published_at, parked_at, park_reason FROM outbox WHERE id = $1", row_id)
    assert row is not None
    return row


def parked_total(reason: str) -> float:
    labels = {"service": "intake", "reason": reason}
    return REGISTRY.get_sample_value("leadflow_outbox_parked_total", labels) or 0.0


async def values_on(stack: TestStack, topic: str, marker: bytes) -> list[bytes]:
    records = await read_topic(stack, topic, within=1.5)
    return [r.value for r in records if r.value and r.value.startswith(marker)]


async def test_an_oversized_row_is_parked_while_the_next_event_is_published_within_a_second(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, service_stack: TestStack
) -> None:
    topic = service_stack.topic_prefix + "intake.events"
    marker = uuid.uuid4().hex.encode()
    parked_before = parked_total("too_large")
    relay = OutboxRelay(pool, producer, "intake", poll_interval_s=0.2)
    relay.start()
    try:
        too_large = await put(pool, topic, b"lead-dana", marker + b"x" * 1_100_000)
        started = time.monotonic()
        following = await put(pool, topic, b"lead-olu", marker + b"next")
        relay.wake()

        async def published() -> bool:
            return (await state(pool, following))["published_at"] is not None

        await wait_until(published, within=1.0, every=0.02)
        took = time.monotonic() - started
    finally:
        await relay.stop()

    assert took < 1.0
    parked = await state(pool, too_large)
    assert parked["published_at"] is None
    assert parked["parked_at"] is not None
    assert f"over the {DEFAULT_MAX_MESSAGE_BYTES}-byte limit" in parked["park_reason"]
    assert parked_total("too_large") == parked_before + 1
    assert await values_on(service_stack, "intake.events", marker) == [marker + b"next"]


async def test_a_leads_later_rows_are_held_behind_its_parked_row_and_other_leads_flow_on(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, service_stack: TestStack
) -> None:
    topic = service_stack.topic_prefix + "intake.events"
    marker = uuid.uuid4().hex.encode()
    relay = OutboxRelay(pool, producer, "intake")
    first = await put(pool, topic, b"lead-dana", marker + b"dana 1" + b"x" * 1_100_000)
    second = await put(pool, topic, b"lead-dana", marker + b"dana 2")
    other = await put(pool, topic, b"lead-olu", marker + b"olu 1")

    assert await relay.publish_pending() == 3
    later = await put(pool, topic, b"lead-dana", marker + b"dana 3")
    assert await relay.publish_pending() == 1

    assert (await state(pool, first))["park_reason"].startswith("too large")
    for held in (second, later):
        assert (await state(pool, held))["park_reason"] == f"held behind parked row {first} of the same key"
    assert (await state(pool, other))["published_at"] is not None
    assert await values_on(service_stack, "intake.events", marker) == [marker + b"olu 1"]
    health = await relay.health()
    assert health.parked == 3
    assert health.oldest_waiting_s is None


async def test_a_row_the_broker_refuses_is_parked_and_a_new_producer_publishes_the_rest(
    pool: asyncpg.Pool, service_stack: TestStack
) -> None:
    # The broker takes less than the relay was told (a topic changed since it started): the broker's refusal
    # leaves the producer's sequence numbers ahead of the partition, so only a new producer sends more.
    topic = f"{service_stack.topic_prefix}small.{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=service_stack.bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "10000"})])
    producers = [await new_producer(service_stack)]

    async def renew() -> AIOKafkaProducer:
        producers.append(await new_producer(service_stack))
        return producers[-1]

    relay = OutboxRelay(pool, producers[0], "intake", poll_interval_s=0.2, producer_factory=renew)
    relay.start()
    try:
        refused = await put(pool, topic, b"lead-dana", b"x" * 20_000)
        fine = await put(pool, topic, b"lead-olu", b"small")
        relay.wake()

        async def settled() -> bool:
            rows = [await state(pool, refused), await state(pool, fine)]
            return rows[0]["parked_at"] is not None and rows[1]["published_at"] is not None

        await wait_until(settled, within=15.0, every=0.05)
    finally:
        await relay.stop()
        await relay.producer.stop()
        await admin.delete_topics([topic])
        await admin.close()

    assert (await state(pool, refused))["park_reason"] == "refused by Kafka: MessageSizeTooLargeError"
    assert len(producers) >= 2


async def test_the_dead_letter_copy_of_a_message_near_the_limit_is_cut_to_fit_and_published(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, service_stack: TestStack
) -> None:
    topic = f"{service_stack.topic_prefix}big.{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=service_stack.bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1), NewTopic(dlq(topic), 1, 1)])
    original = b"not a CloudEvent " + b"x" * (1_048_398 - 17)
    await produce(service_stack, topic.removeprefix(service_stack.topic_prefix), [(b"lead-dana", original)])
    relay = OutboxRelay(pool, producer, "intake", poll_interval_s=0.2)
    consumer = EventConsumer(
        Subscription("oversized", (topic,), ()),
        service="intake",
        pool=pool,
        bootstrap_servers=service_stack.bootstrap,
        relay=relay,
    )
    relay.start()
    await consumer.start()
    try:

        async def dead_letters() -> list[ConsumerRecord[bytes, bytes]]:
            return await read_topic(service_stack, dlq(topic).removeprefix(service_stack.topic_prefix), 0.5)

        copies = await wait_until(dead_letters, within=20.0)
    finally:
        await consumer.stop()
        await relay.stop()
        await admin.delete_topics([topic, dlq(topic)])
        await admin.close()

    [copy] = copies
    headers = [(name, value.decode()) for name, value in copy.headers]
    assert message_size(copy.key, copy.value or b"", headers) <= DEFAULT_MAX_MESSAGE_BYTES
    named = dict(headers)
    assert named["dlq.truncated"] == "true"
    assert named["dlq.original_size"] == str(len(original))
    assert named["dlq.original_sha256"] == hashlib.sha256(original).hexdigest()
    assert named["dlq.reason"].startswith("not a valid CloudEvent")
    assert copy.key == b"lead-dana"
    assert original.startswith(copy.value or b"-")


async def test_the_limit_is_read_from_the_topics_and_from_the_brokers_for_topics_not_created_yet(
    service_stack: TestStack,
) -> None:
    topic = f"{service_stack.topic_prefix}small.{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=service_stack.bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "10000"})])
    try:

        async def topic_limit() -> int | None:
            # A topic created a moment ago may not be described yet; the brokers' limit stands in meanwhile.
            limit = await message_limit(service_stack.bootstrap, [topic], 4 * 1_048_576)
            return limit if limit == 10_000 else None

        small = await wait_until(topic_limit, within=10.0, every=0.2)
        absent = await message_limit(service_stack.bootstrap, [topic + ".absent"], 4 * 1_048_576)
        capped = await message_limit(service_stack.bootstrap, [topic + ".absent"], 500_000)
    finally:
        await admin.delete_topics([topic])
        await admin.close()

    assert small == 10_000
    # The broker's own default, 1 MiB and 12 bytes of log overhead, unless this one was set otherwise.
    assert 10_000 < absent < 4 * 1_048_576
    assert capped == 500_000
