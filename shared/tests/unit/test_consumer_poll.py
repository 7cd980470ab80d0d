"""How a consumer takes its next records: what the fetcher holds, topped up with what came since."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition

from leadflow_shared import consumer as consumer_module
from leadflow_shared.consumer import EventConsumer, Subscription

P0 = TopicPartition("t", 0)
P1 = TopicPartition("t", 1)


def records(tp: TopicPartition, *offsets: int) -> list[ConsumerRecord[bytes, bytes]]:
    return [ConsumerRecord(tp.topic, tp.partition, o, 0, 0, b"k", b"", None, 0, 0, []) for o in offsets]


Answer = tuple[float, dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]]


class FakeKafka:
    """Answers getmany() from a script: each answer after a delay, and records the calls."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[TopicPartition, Any]:
        self.calls.append({"timeout_ms": timeout_ms, "max_records": max_records})
        delay, answer = self.answers.pop(0)
        if delay:
            await asyncio.sleep(delay)
        return answer


async def consumer_over(fake: FakeKafka, max_records: int = 500) -> EventConsumer:
    consumer = EventConsumer(
        Subscription("s", ("t",), ()),
        service="test",
        pool=None,
        bootstrap_servers="localhost:1",
        max_records=max_records,
    )
    consumer.consumer = fake
    return consumer


def offsets(batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> dict[int, list[int]]:
    return {tp.partition: [m.offset for m in msgs] for tp, msgs in batches.items()}


async def test_records_the_fetcher_held_are_topped_up_with_those_that_came_since() -> None:
    fake = FakeKafka((0, {P0: records(P0, 1, 2)}), (0, {P0: records(P0, 3), P1: records(P1, 7)}))
    consumer = await consumer_over(fake)

    batches = await consumer._poll()

    assert offsets(batches) == {0: [1, 2, 3], 1: [7]}
    assert fake.calls == [
        {"timeout_ms": 0, "max_records": 500},
        {"timeout_ms": consumer_module.TOP_UP_MS, "max_records": 498},
    ]


async def test_records_waited_for_are_fresh_and_go_at_once() -> None:
    fake = FakeKafka((0, {}), (0.01, {P0: records(P0, 1)}))
    consumer = await consumer_over(fake)

    batches = await consumer._poll()

    assert offsets(batches) == {0: [1]}
    assert [call["timeout_ms"] for call in fake.calls] == [0, 200]


async def test_a_full_batch_is_not_topped_up() -> None:
    fake = FakeKafka((0, {P0: records(P0, 1, 2, 3)}))
    consumer = await consumer_over(fake, max_records=3)

    batches = await consumer._poll()

    assert offsets(batches) == {0: [1, 2, 3]}
    assert len(fake.calls) == 1


async def test_a_poll_that_finds_nothing_waits_once_and_answers_nothing() -> None:
    fake = FakeKafka((0, {}), (0, {}))
    consumer = await consumer_over(fake)

    assert await consumer._poll() == {}
    assert [call["timeout_ms"] for call in fake.calls] == [0, 200]
