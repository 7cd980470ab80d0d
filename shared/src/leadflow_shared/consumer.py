"""Kafka consumers with at-least-once delivery made exactly-once in effect by the inbox.

Delivery semantics: auto-commit is off. A partition batch is handled in one database transaction
that also records every event id in the inbox (repeats are skipped) and writes every dead letter
to the outbox. The batch first runs without savepoints; if a handler fails, it is rolled back and
replayed with a savepoint per message, so only the failing message is dead-lettered. In that first
run, the batch is laid out in layers: a lead's n-th message goes in layer n, so every lead occurs at
most once per layer, and within a layer the messages of one type go together to the type's handler,
which takes a batch (a message alone is a batch of one): a few statements for the lot instead of a few per
message.
Layers run in order, so each lead's messages keep theirs, which is all Kafka promises.
A poll takes what the fetcher prefetched and tops it up with what reached Kafka since (see `_poll`).
Offsets are committed only after that transaction commits. A message that cannot be parsed or handled goes to
`<topic>.dlq` with the reason; a transient failure (database or network) rolls the batch back and
retries it from the last committed offset. A message of a type no leadflow model is registered for is
dead-lettered too (one of a known type this subscription does not handle is passed over); every dead letter
is counted in `leadflow_events_refused_total` by service and reason, and the subscription's
`on_dead_letter`, if any, sees it in the same transaction (intake keeps it in quarantine).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg
import prometheus_client
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata

from leadflow_shared import erasure, inbox, metrics
from leadflow_shared.contracts.envelope import (
    Envelope,
    MalformedEvent,
    decode,
    decode_data,
    decode_typed,
    header_type,
)
from leadflow_shared.contracts.events import EVENT_TYPES, EventData
from leadflow_shared.contracts.topics import dlq
from leadflow_shared.db import TRANSIENT_DB_ERRORS
from leadflow_shared.outbox import DEFAULT_MAX_MESSAGE_BYTES, Outbox, OutboxRelay, Row, message_size
from leadflow_shared.tracing import Tracing
from leadflow_shared.uow import UnitOfWork

log = structlog.get_logger(__name__)

E = TypeVar("E", bound=EventData)
# Events of one type with the envelopes they came in, about distinct leads: what a handler is given.
Events = Sequence[tuple[Envelope, E]]
# A refused message, the kind of refusal (a metric label) and the reason (for people).
DeadLetter = tuple[ConsumerRecord[bytes, bytes], str, str]
# Network work (a vendor API) for a batch, done before its transaction opens: what it returns, by event id,
# reaches the handlers as uow.prepared. It keeps its own failures as values for the handler to judge.
Prepare = Callable[[asyncpg.Pool, list[tuple[Envelope, Any]]], Awaitable[Mapping[UUID, Any]]]
DeadLetterHook = Callable[[UnitOfWork, ConsumerRecord[bytes, bytes], str, str], Awaitable[None]]
Wanted = tuple[ConsumerRecord[bytes, bytes], Envelope, EventData, "On[Any]"]


class Reject(Exception):
    """A handler refuses a message for good: it goes to the dead-letter topic with this reason."""

    def __init__(self, reason: str, *, kind: str = "rejected") -> None:
        super().__init__(reason)
        self.kind = kind


class Retry(Exception):
    """A handler met a passing condition (a vendor down, say): roll the batch back, retry it with backoff."""


class Conflict(Retry):
    """A concurrent writer got to the same rows first: roll the batch back and retry it soon."""


# How long a poll that found records already fetched waits for those that reached Kafka since.
TOP_UP_MS = 10

RETRYABLE: tuple[type[BaseException], ...] = (*TRANSIENT_DB_ERRORS, Retry)
# Failures that mean a concurrent writer got there first, not that something is down.
CONTENTION: tuple[type[BaseException], ...] = (
    Conflict,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)


@dataclass(frozen=True)
class On(Generic[E]):
    """The handler of one event type: it takes the type's events of a batch at once, a message alone being
    a batch of one, with the effect of handling each in turn."""

    event: type[E]
    handle: Callable[[UnitOfWork, Events[E]], Awaitable[None]]


def each(
    handle: Callable[[UnitOfWork, Envelope, E], Awaitable[None]],
) -> Callable[[UnitOfWork, Events[E]], Awaitable[None]]:
    """A handler for work that gains nothing from batches: each event in turn."""

    async def handler(uow: UnitOfWork, events: Events[E]) -> None:
        for envelope, data in events:
            await handle(uow, envelope, data)

    return handler


@dataclass(frozen=True)
class Subscription:
    """A consumer group on some topics, with one handler per event type it cares about."""

    name: str
    topics: tuple[str, ...]
    on: tuple[On[Any], ...]
    # Optional: also keep each dead letter elsewhere, in the transaction that dead-letters it.
    on_dead_letter: DeadLetterHook | None = None
    # Optional: fetch what the handlers need from the network before the transaction (none is held meanwhile).
    prepare: Prepare | None = None
    # The handler of each event type, from `on`.
    handlers: Mapping[str, On[Any]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        handlers = {on.event.event_type: on for on in self.on}
        if len(handlers) < len(self.on):
            raise ValueError(f"subscription {self.name!r} names an event type twice")
        object.__setattr__(self, "handlers", handlers)


class EventConsumer:
    """Runs one subscription: poll, handle partition batches in transactions, commit, repeat."""

    def __init__(
        self,
        subscription: Subscription,
        *,
        service: str,
        pool: asyncpg.Pool,
        bootstrap_servers: str,
        topic_prefix: str = "",
        relay: OutboxRelay | None = None,
        max_records: int = 500,
        concurrency: int = 4,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        journeys: bool = True,
        tracing: Tracing | None = None,
    ) -> None:
        self.sub = subscription
        self.tracing = tracing
        self.journeys = journeys
        self.service = service
        self.pool = pool
        self.relay = relay
        self.topic_prefix = topic_prefix
        self.max_records = max_records
        self.concurrency = concurrency
        self.max_message_bytes = max_message_bytes
        self.group_id = f"{topic_prefix}{service}.{subscription.name}"
        self.bootstrap_servers = bootstrap_servers
        self.consumer = self._new_consumer()
        self._stopping = asyncio.Event()
        self._semaphore = asyncio.Semaphore(concurrency)
        self._ignored = metrics.EVENTS_IGNORED.labels(service, subscription.name)
        self._skipped = metrics.EVENTS_SKIPPED.labels(service, subscription.name)
        self._consumed_by_type: dict[str, prometheus_client.Counter] = {}
        self._task: asyncio.Task[None] | None = None
        self.running = False
        # Whether the schema keeps erased leads (their late events are then pseudonymised); asked once.
        self._keeps_erased: bool | None = None

    def _new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *(self.topic_prefix + t for t in self.sub.topics),
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group_id,
            client_id=f"{self.service}-{self.sub.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_records,
            isolation_level="read_committed",
        )

    async def _rebuild(self, cause: KafkaError) -> None:
        """Replace a consumer that can no longer consume (its group coordination ended) with a new one.

        The new one joins the group and resumes from the committed offsets; what the old one handled after
        its last commit is skipped by the inbox.
        """
        log.warning("consumer broken; starting a new one", consumer=self.group_id, error=repr(cause))
        metrics.CONSUMER_REBUILDS.labels(self.service, self.sub.name).inc()
        backoff = 0.5
        while not self._stopping.is_set():
            with contextlib.suppress(KafkaError, OSError):
                await self.consumer.stop()
            self.consumer = self._new_consumer()
            try:
                await self.consumer.start()
                return
            except (KafkaError, OSError) as exc:
                log.warning("new consumer did not start; will retry", consumer=self.group_id, error=repr(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    def _consumed(self, event_type: str) -> prometheus_client.Counter:
        """The consumed-events counter of one type, looked up once (prometheus takes a lock per lookup)."""
        counter = self._consumed_by_type.get(event_type)
        if counter is None:
            counter = self._consumed_by_type[event_type] = metrics.EVENTS_CONSUMED.labels(
                self.service, self.sub.name, event_type
            )
        return counter

    async def start(self) -> None:
        """Join the group and start consuming in the background."""
        await self.consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"{self.group_id}-consumer")
        self.running = True

    async def stop(self) -> None:
        """Finish the batch in hand, commit it, and leave the group."""
        self._stopping.set()
        if self._task:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()
        self.running = False

    async def _run(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                batches = await self._poll()
            except KafkaError as exc:
                log.warning("poll failed", consumer=self.group_id, error=repr(exc))
                await asyncio.sleep(backoff)
                if not exc.retriable:
                    # aiokafka ends a consumer's group coordination on an error it did not expect, and that
                    # consumer then fails every poll: only a new one consumes again.
                    await self._rebuild(exc)
                continue
            if not batches:
                continue
            results = await asyncio.gather(
                *(self._guarded(tp, msgs) for tp, msgs in batches.items()), return_exceptions=True
            )
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed and all(isinstance(r, CONTENTION) for r in failed):
                # Another transaction won a race for the same rows and has committed: go again soon.
                log.info("batch lost a race; retrying", consumer=self.group_id, error=repr(failed[0]))
                await asyncio.sleep(random.uniform(0.02, 0.1))
            elif failed:
                log.warning("batch failed; will retry", consumer=self.group_id, error=repr(failed[0]))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            else:
                backoff = 0.5

    async def _poll(self) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        """The next records: those the fetcher holds, topped up with those that reached Kafka since."""
        batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
        batches = await self.consumer.getmany(timeout_ms=0, max_records=self.max_records)
        if not batches:
            # Nothing held: wait for records, which are then as fresh as they come.
            batches = await self.consumer.getmany(timeout_ms=200, max_records=self.max_records)
            return batches
        count = sum(len(msgs) for msgs in batches.values())
        if count >= self.max_records:
            return batches
        # The fetcher held these: it fetched them while the last batch ran, then fetched no more of
        # their partitions until they were taken. Taking them sent that fetch; waiting the one round trip
        # it takes lets this batch carry what came since, instead of leaving it for the next one.
        more = await self.consumer.getmany(timeout_ms=TOP_UP_MS, max_records=self.max_records - count)
        for tp, msgs in more.items():
            batches.setdefault(tp, []).extend(msgs)
        return batches

    async def _guarded(self, tp: TopicPartition, msgs: list[ConsumerRecord[bytes, bytes]]) -> None:
        async with self._semaphore:
            await self._handle_partition(tp, msgs)

    async def _handle_partition(self, tp: TopicPartition, msgs: list[ConsumerRecord[bytes, bytes]]) -> None:
        started = time.perf_counter()
        try:
            written = await self._process(tp, msgs)
        except BaseException:
            metrics.CONSUMER_RETRIES.labels(self.service, self.sub.name).inc()
            self.consumer.seek(tp, msgs[0].offset)
            raise
        if written and self.relay:
            self.relay.wake()
        try:
            await self.consumer.commit({tp: OffsetAndMetadata(msgs[-1].offset + 1, "")})
        except (CommitFailedError, KafkaError) as exc:
            # A rebalance moved the partition; its next owner sees these again and the inbox skips them.
            log.info("offset commit failed after processing", consumer=self.group_id, error=repr(exc))
        metrics.BATCH_SECONDS.labels(self.service, self.sub.name).observe(time.perf_counter() - started)

    async def _process(self, tp: TopicPartition, msgs: list[ConsumerRecord[bytes, bytes]]) -> int:
        dead, wanted = self._decode(msgs)
        if not wanted and not dead:
            # Only types this subscription passes over (a topic read for one event type): no transaction.
            return 0
        prepared: Mapping[UUID, Any] = {}
        if self.sub.prepare is not None and wanted:
            prepared = await self.sub.prepare(self.pool, [(env, data) for _, env, data, _ in wanted])
        try:
            return await self._apply(wanted, list(dead), isolate=False, prepared=prepared)
        except _HandlerFailed:
            # Replay with a savepoint per message, so only the failing one is dead-lettered.
            return await self._apply(wanted, list(dead), isolate=True, prepared=prepared)

    def _decode(self, msgs: list[ConsumerRecord[bytes, bytes]]) -> tuple[list[DeadLetter], list[Wanted]]:
        dead, wanted, ignored = sort_messages(msgs, self.sub.handlers)
        if ignored:
            self._ignored.inc(ignored)
        return dead, wanted

    async def _apply(
        self,
        wanted: list[Wanted],
        dead: list[DeadLetter],
        *,
        isolate: bool,
        prepared: Mapping[UUID, Any] | None = None,
    ) -> int:
        """One transaction for the batch; without isolation a failing handler fails the whole attempt."""
        # What was handled (with its topic): the metrics count it, the tracer (if any) spans it.
        handled: list[tuple[str, Envelope]] = []
        started_ns = time.time_ns()
        async with self.pool.acquire() as conn, conn.transaction():
            outbox = Outbox(conn, self.service, self.topic_prefix, self.max_message_bytes, self.journeys)
            uow = UnitOfWork(conn, outbox, prepared or {})
            todo = await self._claim(conn, wanted)
            skipped = len(wanted) - len(todo)
            if not isolate:
                for event_type, items in plan_batches(todo, self.sub.handlers):
                    if event_type is None:
                        structlog.contextvars.bind_contextvars(correlation_id=items[0][1].correlationid)
                    await _run(items[0][3].handle(uow, [(e, d) for _, e, d, _ in items]))
                    handled.extend((msg.topic, envelope) for msg, envelope, _, _ in items)
            else:
                for msg, envelope, data, on in todo:
                    structlog.contextvars.bind_contextvars(correlation_id=envelope.correlationid)
                    mark = outbox.mark()
                    try:
                        async with conn.transaction():
                            await on.handle(uow, [(envelope, data)])
                    except RETRYABLE:
                        raise
                    except Exception as exc:
                        outbox.rollback_to(mark)
                        log.warning(
                            "handler failed; dead-lettering",
                            consumer=self.group_id,
                            type=envelope.type,
                            event_id=str(envelope.id),
                            error=repr(exc),
                        )
                        kind = exc.kind if isinstance(exc, Reject) else "failed"
                        dead.append((msg, kind, f"{type(exc).__name__}: {exc}"))
                        continue
                    handled.append((msg.topic, envelope))
            structlog.contextvars.unbind_contextvars("correlation_id")
            if dead and self.sub.on_dead_letter is not None:
                await self._keep_dead(uow, dead)
            await outbox.put_many(
                dead_letter(msg, reason, self.group_id, self.max_message_bytes) for msg, _, reason in dead
            )
            await outbox.flush()
        if self.tracing is not None:
            self.tracing.consumed(self.group_id, handled, started_ns)
        # One counter update per type and batch, not per message.
        for event_type, count in Counter(envelope.type for _, envelope in handled).items():
            self._consumed(event_type).inc(count)
        if skipped:
            self._skipped.inc(skipped)
        for msg, kind, reason in dead:
            metrics.DEAD_LETTERS.labels(self.service, self.sub.name, msg.topic).inc()
            metrics.EVENTS_REFUSED.labels(self.service, kind).inc()
            log.warning("message dead-lettered", topic=msg.topic, offset=msg.offset, kind=kind, reason=reason)
        return outbox.written

    async def _claim(self, conn: asyncpg.Connection, wanted: list[Wanted]) -> list[Wanted]:
        """The batch's events not handled before, those about erased leads pseudonymised: one query."""
        if not wanted:
            return wanted
        if self._keeps_erased is None:
            self._keeps_erased = bool(await conn.fetchval("SELECT to_regclass('erased_leads') IS NOT NULL"))
        # A relay that published a row again (its mark lost to a database crash) can put both copies in one
        # batch: the first is claimed and handled, the others are repeats like any redelivery.
        firsts: dict[UUID, Wanted] = {}
        for item in wanted:
            firsts.setdefault(item[1].id, item)
        wanted = list(firsts.values())
        ids = list(firsts)
        if not self._keeps_erased:
            fresh = await inbox.claim(conn, self.group_id, ids)
            return [item for item in wanted if item[1].id in fresh]
        about = [_leads_of(msg, data) for msg, _, data, _ in wanted]
        fresh, erased = await inbox.claim_noting_erased(
            conn, self.group_id, ids, [k for ks in about for k in ks]
        )
        return [
            (msg, envelope, _forgotten(data) if erased and erased.intersection(leads) else data, handler)
            for (msg, envelope, data, handler), leads in zip(wanted, about, strict=True)
            if envelope.id in fresh
        ]

    async def _keep_dead(self, uow: UnitOfWork, dead: list[DeadLetter]) -> None:
        """Hand each dead letter to the subscription's hook; a hook that fails leaves the DLQ copy alone."""
        assert self.sub.on_dead_letter is not None
        for msg, kind, reason in dead:
            mark = uow.outbox.mark()
            try:
                async with uow.conn.transaction():
                    await self.sub.on_dead_letter(uow, msg, kind, reason)
            except RETRYABLE:
                raise
            except Exception as exc:
                uow.outbox.rollback_to(mark)
                # Refusing the refusal would stall the partition; the dead-letter topic still has it.
                log.error("dead letter not kept", topic=msg.topic, offset=msg.offset, error=repr(exc))


def _leads_of(msg: ConsumerRecord[bytes, bytes], data: EventData) -> list[str]:
    """The leads a message is about: its key and the other leads its event changes."""
    key = msg.key.decode(errors="replace") if msg.key else None
    return [*([key] if key else []), *data.other_leads()]


def _forgotten(data: EventData) -> EventData:
    """An erased lead's late event without its personal data; as it came if its model refuses that."""
    try:
        return erasure.pseudonymise_event(data)
    except ValueError:
        log.warning("late event of an erased lead kept as it came", type=data.event_type)
        return data


def sort_messages(
    msgs: list[ConsumerRecord[bytes, bytes]], handlers: Mapping[str, On[Any]]
) -> tuple[list[DeadLetter], list[Wanted], int]:
    """The messages to dead-letter, those to handle with their handler, and how many are not wanted here.

    A message whose type header names a known type without a handler is passed over unparsed; one without
    the header (from outside leadflow) is parsed to learn its type. A type no leadflow model is registered
    for is dead-lettered, so an event nobody understands is never dropped in silence.
    """
    dead: list[DeadLetter] = []
    wanted: list[Wanted] = []
    ignored = 0
    for msg in msgs:
        named = header_type(msg.headers)
        if named is not None and named not in handlers:
            if named in EVENT_TYPES:
                ignored += 1
            else:
                dead.append((msg, "unknown_type", f"unknown event type {named!r}"))
            continue
        try:
            if named is not None:
                # The header names a type handled here: envelope and data in one pass over the JSON.
                envelope, data = decode_typed(msg.value, named)
            else:
                envelope, data = decode(msg.value), None
        except MalformedEvent as exc:
            dead.append((msg, "malformed", str(exc)))
            continue
        handler = handlers.get(envelope.type)
        if handler is None:
            if envelope.type in EVENT_TYPES:
                ignored += 1
            else:
                dead.append((msg, "unknown_type", f"unknown event type {envelope.type!r}"))
            continue
        if data is None:
            try:
                data = decode_data(envelope)
            except MalformedEvent as exc:
                dead.append((msg, "malformed", str(exc)))
                continue
        wanted.append((msg, envelope, data, handler))
    return dead, wanted, ignored


def plan_batches(items: list[Wanted], together: Container[str]) -> list[tuple[str | None, list[Wanted]]]:
    """The steps of a batch run, in order: a group of one type's messages (of a type that may go together),
    or one message alone.

    A message goes in the layer after the last one holding a message about any of its leads (its key, and
    the other leads it changes, such as a merge's merged lead), and the layers run in order: so each lead's
    messages keep their order, and within a layer every lead is distinct, so a type's messages there may go
    together. A message without a key was promised no order and goes in the first layer.
    """
    if not together:
        return [(None, [item]) for item in items]
    next_layer: dict[bytes, int] = {}
    layers: list[list[Wanted]] = []
    for item in items:
        key = item[0].key
        others = () if key is None else item[2].other_leads()
        if others:
            leads = [key, *(lead.encode() for lead in others)]
            layer = max(next_layer.get(lead, 0) for lead in leads)
            for lead in leads:
                next_layer[lead] = layer + 1
        elif key is not None:
            # The common case, one lead per message: no list to build.
            layer = next_layer.get(key, 0)
            next_layer[key] = layer + 1
        else:
            layer = 0
        if layer == len(layers):
            layers.append([])
        layers[layer].append(item)
    steps: list[tuple[str | None, list[Wanted]]] = []
    for layer_items in layers:
        groups: dict[str, list[Wanted]] = {}
        for item in layer_items:
            if item[1].type in together:
                groups.setdefault(item[1].type, []).append(item)
        steps.extend((event_type, group) for event_type, group in groups.items() if len(group) > 1)
        steps.extend((None, [item]) for item in layer_items if len(groups.get(item[1].type, ())) < 2)
    return steps


async def _run(work: Awaitable[None]) -> None:
    """Await a handler in a batch run: a transient failure retries the batch, any other replays it."""
    try:
        await work
    except RETRYABLE:
        raise
    except Exception as exc:
        raise _HandlerFailed from exc


class _HandlerFailed(Exception):
    """A handler raised in a batch run without savepoints."""


def dead_letter(msg: ConsumerRecord[bytes, bytes], reason: str, consumer: str, limit: int) -> Row:
    """The dead-letter copy of a message as an outbox row, its payload cut to fit the message size limit.

    A cut copy says so in its headers, with the original's size and sha256, so it can be matched with the
    original, which stays on its topic for the topic's retention.
    """
    key, value = msg.key, msg.value or b""
    headers = dead_letter_headers(msg, reason, consumer)
    if message_size(key, value, headers) <= limit:
        return (dlq(msg.topic), key, value, headers)
    headers += [
        ("dlq.truncated", "true"),
        ("dlq.original_size", str(len(value))),
        ("dlq.original_sha256", hashlib.sha256(value).hexdigest()),
    ]
    room = limit - message_size(key, b"", headers)
    if room < 0 and key is not None:
        # Only a key nearly as large as the limit leaves no room; a shorter one still partitions alike.
        key = key[: max(len(key) + room, 0)]
    return (dlq(msg.topic), key, value[: max(room, 0)], headers)


def dead_letter_headers(
    msg: ConsumerRecord[bytes, bytes], reason: str, consumer: str
) -> list[tuple[str, str]]:
    """Headers that say where a dead letter came from and why it was refused."""
    return [
        ("dlq.reason", reason[:2000]),
        ("dlq.consumer", consumer),
        ("dlq.topic", msg.topic),
        ("dlq.partition", str(msg.partition)),
        ("dlq.offset", str(msg.offset)),
    ]
