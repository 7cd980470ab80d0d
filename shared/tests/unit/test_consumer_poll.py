"""How a consumer takes its next records: what the fetcher holds, topped up with what came since."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError

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


class BrokenKafka:
    """A consumer whose every poll fails with one error, as aiokafka's does once its coordination ended."""

    def __init__(self, error: KafkaError, owner: EventConsumer, polls_before_stop: int = 0) -> None:
        self.error, self.owner, self.polls, self.stopped = error, owner, 0, False
        self.polls_before_stop = polls_before_stop

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[TopicPartition, Any]:
        self.polls += 1
        if self.polls == self.polls_before_stop:
            self.owner._stopping.set()
        raise self.error

    async def stop(self) -> None:
        self.stopped = True


class IdleKafka:
    """A new consumer: it starts, and its polls find nothing; the second ends the run."""

    def __init__(self, owner: EventConsumer) -> None:
        self.owner, self.started, self.polls = owner, False, 0

    async def start(self) -> None:
        self.started = True

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[TopicPartition, Any]:
        self.polls += 1
        if self.polls == 2:
            self.owner._stopping.set()
        return {}


async def test_a_consumer_that_fails_every_poll_with_an_error_kafka_does_not_retry_is_replaced() -> None:
    consumer = await consumer_over(FakeKafka())
    broken = BrokenKafka(KafkaError("Unexpected error during coordination RuntimeError('closed')"), consumer)
    replacement = IdleKafka(consumer)
    consumer.consumer = broken
    consumer._new_consumer = lambda: replacement  # type: ignore[method-assign]

    await asyncio.wait_for(consumer._run(), 5)

    assert broken.stopped
    assert consumer.consumer is replacement
    assert replacement.started
    assert replacement.polls == 2


async def test_a_consumer_whose_polls_fail_with_a_retriable_error_is_kept() -> None:
    consumer = await consumer_over(FakeKafka())
    flaky = BrokenKafka(KafkaConnectionError("broker down"), consumer, polls_before_stop=2)
    consumer.consumer = flaky

    await asyncio.wait_for(consumer._run(), 5)

    assert consumer.consumer is flaky
    assert not flaky.stopped
    assert flaky.polls == 2


async def test_an_event_delivered_twice_in_one_batch_is_handled_once(monkeypatch: Any) -> None:
    import types
    import uuid

    from leadflow_shared import inbox

    event_id, other_id = uuid.uuid4(), uuid.uuid4()

    async def claim(conn: Any, consumer: str, ids: list[uuid.UUID]) -> set[uuid.UUID]:
        return set(ids)

    async def claim_noting_erased(
        conn: Any, consumer: str, ids: list[uuid.UUID], leads: list[str]
    ) -> tuple[set[uuid.UUID], set[str]]:
        return set(ids), set()

    monkeypatch.setattr(inbox, "claim", claim)
    monkeypatch.setattr(inbox, "claim_noting_erased", claim_noting_erased)
    data = types.SimpleNamespace(other_leads=lambda: [])
    copies = [
        (msg, types.SimpleNamespace(id=i), data, None)
        for msg, i in zip(records(P0, 1, 2, 3), [event_id, other_id, event_id], strict=True)
    ]
    consumer = await consumer_over(FakeKafka())
    for keeps_erased in (False, True):
        consumer._keeps_erased = keeps_erased

        todo = await consumer._claim(None, copies)  # type: ignore[arg-type]

        assert [msg.offset for msg, *_ in todo] == [1, 2]
