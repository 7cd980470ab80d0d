"""Transactional outbox: events are rows written with the state change; a relay publishes them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import asyncpg
import orjson
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTimestampError,
    KafkaError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    RecordListTooLargeError,
    UnsupportedForMessageFormatError,
)

from leadflow_shared import metrics
from leadflow_shared.contracts.envelope import TYPE_HEADER, Envelope, encode, new_event, trace_parent
from leadflow_shared.contracts.events import EventData
from leadflow_shared.journeys import WITH_FACTS, Fact, carries_journey, fact_columns, facts_of, follow

log = structlog.get_logger(__name__)

OUTBOX_DDL = """
CREATE TABLE IF NOT EXISTS outbox (
    id bigserial PRIMARY KEY,
    topic text NOT NULL,
    key bytea,
    payload bytea NOT NULL,
    headers jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
"""

# Parking (migrations 000N_outbox_parking): a row the broker would never take is set aside with its reason,
# and so is every later row of its topic and key, so that a lead's later events never overtake it.
OUTBOX_PARKING_DDL = """
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS parked_at timestamptz, ADD COLUMN IF NOT EXISTS park_reason text;
DROP INDEX IF EXISTS outbox_unpublished;
CREATE INDEX IF NOT EXISTS outbox_waiting ON outbox (id) WHERE published_at IS NULL AND parked_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_parked ON outbox (topic, key) WHERE parked_at IS NOT NULL;
"""
OUTBOX_UNPARKING_DDL = """
DROP INDEX IF EXISTS outbox_parked;
DROP INDEX IF EXISTS outbox_waiting;
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
ALTER TABLE outbox DROP COLUMN IF EXISTS parked_at, DROP COLUMN IF EXISTS park_reason;
"""

Header = tuple[str, str]
Row = tuple[str, bytes | None, bytes, list[Header]]

# Kafka's own defaults (the producer's max_request_size; the broker adds 12 bytes of log overhead): used only
# where no limit read from the broker is given, as in tests of one part.
DEFAULT_MAX_MESSAGE_BYTES = 1_048_576
# What one record costs beyond its key, value and headers when it travels in a batch of its own: the batch
# header (61 bytes) and the record's varint fields, rounded up; each header adds two lengths.
RECORD_OVERHEAD = 128
HEADER_OVERHEAD = 10


def message_size(key: bytes | None, value: bytes, headers: Sequence[tuple[str, str | bytes]] | None) -> int:
    """The bytes a message takes on the broker, as its size limit counts them (or a few more)."""
    size = RECORD_OVERHEAD + len(value) + (len(key) if key is not None else 0)
    for name, header in headers or ():
        encoded = header if isinstance(header, bytes) else header.encode()
        size += HEADER_OVERHEAD + len(name.encode()) + len(encoded)
    return size


class EventTooLarge(ValueError):
    """An event whose message would exceed the broker's size limit: it could never be published."""

    def __init__(self, topic: str, size: int, limit: int) -> None:
        self.topic = topic
        self.size = size
        self.limit = limit
        super().__init__(
            f"the event would be a {size}-byte message on {topic}, over the {limit}-byte Kafka message limit"
        )


_INSERT = "INSERT INTO outbox (topic, key, payload, headers) VALUES ($1, $2, $3, $4)"
# Ids follow the queue's order (per-lead order relies on it), so the rows are inserted in array order.
_INSERT_MANY = (
    "INSERT INTO outbox (topic, key, payload, headers) SELECT topic, key, payload, headers::jsonb"
    " FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[]) WITH ORDINALITY"
    " AS r(topic, key, payload, headers, i) ORDER BY i"
)


class Outbox:
    """Collects the events of one transaction and writes them to the outbox table before it commits."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        source: str,
        topic_prefix: str = "",
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        journeys: bool = False,
    ) -> None:
        self.conn = conn
        self.source = source
        self.topic_prefix = topic_prefix
        self.max_message_bytes = max_message_bytes
        # With journeys, events about a lead take over its journey's correlation id and join its timeline.
        self.journeys = journeys
        self.pending: list[Row] = []
        # Lead events whose journey is to be looked up, and facts whose journey their cause carried.
        self.about_leads: list[tuple[int, Envelope, list[Fact]]] = []
        self.followed: list[tuple[int, Fact]] = []
        self.written = 0

    async def emit(
        self,
        data: EventData,
        *,
        causation: Envelope | None = None,
        correlation_id: str | None = None,
    ) -> Envelope:
        """Wrap the data in an envelope and queue it for this transaction; return the envelope.

        Raises EventTooLarge when its message would exceed the broker's size limit.
        """
        envelope = new_envelope(data, self.source, causation, correlation_id)
        row = (self.topic_prefix + data.topic, envelope.key(), encode(envelope), _type_headers(envelope.type))
        self._check(row)
        self.pending.append(row)
        if self.journeys and data.topic.endswith(".events") and envelope.subject is not None:
            index, facts = len(self.pending) - 1, facts_of(data, envelope)
            if correlation_id is None and carries_journey(data, envelope, causation, self.source):
                self.followed.extend((index, fact) for fact in facts)
            else:
                self.about_leads.append((index, envelope, facts))
        return envelope

    async def emit_many(self, items: Sequence[tuple[EventData, Envelope | None]]) -> list[Envelope]:
        """Queue several events at once, each with its causing envelope."""
        return [await self.emit(data, causation=cause) for data, cause in items]

    async def put_many(self, rows: Iterable[Row]) -> None:
        """Queue raw messages (topic, key, value, headers), dead letters among them; EventTooLarge as emit."""
        for row in rows:
            self._check(row)
            self.pending.append(row)

    def _check(self, row: Row) -> None:
        topic, key, value, headers = row
        size = message_size(key, value, headers)
        if size > self.max_message_bytes:
            raise EventTooLarge(topic, size, self.max_message_bytes)

    def mark(self) -> int:
        """A point to roll the queue back to when one message's work is undone."""
        return len(self.pending)

    def rollback_to(self, mark: int) -> None:
        """Forget what was queued after the mark."""
        del self.pending[mark:]
        self.about_leads = [item for item in self.about_leads if item[0] < mark]
        self.followed = [item for item in self.followed if item[0] < mark]

    async def flush(self) -> None:
        """Write the queued rows in one round trip; called inside the transaction, just before commit."""
        if not self.pending:
            return
        if self.about_leads:
            await self._follow_journeys()
        facts = [fact for _, fact in self.followed]
        if len(self.pending) == 1 and not facts:
            # One row is one statement: outside a transaction it commits alone, in one round trip.
            await self.conn.execute(_INSERT, *self.pending[0])
        else:
            topics, keys, payloads, headers = zip(*self.pending, strict=True)
            # Headers go as JSON text: a list of lists would be taken for a two-dimensional array.
            rows = [list(topics), list(keys), list(payloads), [_headers_json(h) for h in headers]]
            if facts:
                # The facts join the lead's timeline in the same statement: no round trip of their own.
                await self.conn.execute(WITH_FACTS + _INSERT_MANY, *rows, *fact_columns(facts))
            else:
                await self.conn.execute(_INSERT_MANY, *rows)
        self.written += len(self.pending)
        self.pending = []
        self.followed = []

    async def _follow_journeys(self) -> None:
        """Record the lead events' facts and give each event its lead's journey as its correlation id."""
        journey_of = await follow(self.conn, [fact for _, _, facts in self.about_leads for fact in facts])
        for index, envelope, facts in self.about_leads:
            journey = journey_of.get(facts[0].lead_id, envelope.correlationid)
            if journey != envelope.correlationid:
                topic, key, _, headers = self.pending[index]
                followed = {"correlationid": journey, "traceparent": trace_parent(journey, envelope.id)}
                self.pending[index] = (topic, key, encode(envelope.model_copy(update=followed)), headers)
        self.about_leads = []


@functools.lru_cache(maxsize=256)
def _type_headers(event_type: str) -> list[Header]:
    """The headers of one of our own events; one list per type, never changed, shared by its rows."""
    return [(TYPE_HEADER, event_type)]


@functools.lru_cache(maxsize=256)
def _type_headers_json(event_type: str) -> str:
    """The JSON text of a type's headers."""
    return orjson.dumps(_type_headers(event_type)).decode()


def _headers_json(headers: list[Header]) -> str:
    """Headers as JSON text; those of our own events come from a memo by type."""
    if len(headers) == 1 and headers[0][0] == TYPE_HEADER:
        return _type_headers_json(headers[0][1])
    return orjson.dumps(headers).decode()


@functools.lru_cache(maxsize=1024)
def _kafka_headers(headers_json: str) -> list[tuple[str, bytes]] | None:
    """The Kafka headers of an outbox row's JSON headers (None for none); most rows share a few texts.

    The list is shared by every message with the same headers; the producer only reads it.
    """
    return [(key, value.encode()) for key, value in orjson.loads(headers_json)] or None


def new_envelope(
    data: EventData, source: str, causation: Envelope | None, correlation_id: str | None
) -> Envelope:
    """Wrap event data, following the causing event's correlation id."""
    return new_event(data, source=source, causation=causation, correlation_id=correlation_id)


# Broker answers that condemn the messages of a batch rather than the connection: sent again, they fail again.
RECORD_ERRORS: tuple[type[KafkaError], ...] = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
    InvalidTimestampError,
    UnsupportedForMessageFormatError,
)
# What producer.send() raises, before anything leaves, for a message it cannot encode or would never send.
UNSENDABLE: tuple[type[Exception], ...] = (MessageSizeTooLargeError, ValueError, TypeError)

_WAITING = (
    "SELECT id, topic, key, payload, headers::text AS headers,"
    " (SELECT min(p.id) FROM outbox p WHERE p.parked_at IS NOT NULL AND p.topic = o.topic AND p.key = o.key)"
    " AS held_by FROM outbox o WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT $1"
)
_PARK = (
    "UPDATE outbox SET parked_at = now(), park_reason = r.reason"
    " FROM unnest($1::bigint[], $2::text[]) AS r(id, reason) WHERE outbox.id = r.id"
)
_HEALTH = (
    "SELECT extract(epoch FROM now() - (SELECT created_at FROM outbox"
    "   WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT 1))::float8 AS oldest,"
    " (SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL) AS parked,"
    " extract(epoch FROM now() - greatest((SELECT max(published_at) FROM outbox),"
    "   (SELECT max(parked_at) FROM outbox WHERE parked_at IS NOT NULL)))::float8 AS idle"
)


@dataclass(frozen=True)
class Parked:
    """An outbox row set aside for good, with why: too_large, invalid, or held behind another."""

    row_id: int
    reason: str
    kind: str


class ParkingLot:
    """Which rows of a relay round to park, in id order; a parked row holds back its key's later rows."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parked: list[Parked] = []
        self._blocked: dict[tuple[str, bytes], int] = {}

    def admit(
        self,
        row_id: int,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, str | bytes]] | None,
        held_by: int | None = None,
    ) -> bool:
        """Answer whether the row may be sent; if not, park it with its reason."""
        blocker = held_by if held_by is not None else self.blocker(topic, key)
        if blocker is not None:
            self.park(row_id, topic, key, f"held behind parked row {blocker} of the same key", "held")
            return False
        size = message_size(key, value, headers)
        if size > self.limit:
            reason = f"too large: a {size}-byte message, over the {self.limit}-byte limit"
            self.park(row_id, topic, key, reason, "too_large")
            return False
        return True

    def park(self, row_id: int, topic: str, key: bytes | None, reason: str, kind: str) -> None:
        """Set a row aside; the later rows of its topic and key follow it."""
        self.parked.append(Parked(row_id, reason[:2000], kind))
        if key is not None:
            self._blocked.setdefault((topic, key), row_id)

    def blocker(self, topic: str, key: bytes | None) -> int | None:
        """The parked row of this round that holds back the topic and key, if any."""
        return None if key is None else self._blocked.get((topic, key))


@dataclass(frozen=True)
class OutboxHealth:
    """The oldest waiting row's age, the parked rows, the time since a row was last published or parked."""

    oldest_waiting_s: float | None
    parked: int
    idle_s: float | None

    def stalled(self, stall_s: float) -> bool:
        """Rows wait longer than stall_s and no row was published or parked for as long."""
        if self.oldest_waiting_s is None or self.oldest_waiting_s <= stall_s:
            return False
        return self.idle_s is None or self.idle_s > stall_s


ProducerFactory = Callable[[], Awaitable[AIOKafkaProducer]]

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


def next_backoff(backoff_s: float) -> float:
    """The wait before the next retry of a failed relay round: doubled each time, up to RETRY_MAX_S."""
    return min(backoff_s * 2, RETRY_MAX_S)


class OutboxRelay:
    """Publishes waiting outbox rows in id order with an idempotent producer, then marks them sent.

    A row Kafka would never take (over the size limit, refused as invalid, or that cannot be encoded) is
    parked with its reason instead, and so is every later row of its topic and key, so that a lead's later
    events never overtake it; the other rows flow on. Other failures are retried with backoff.
    """

    # One relay at a time per service keeps the id order that per-lead ordering relies on. Advisory
    # locks are per database, and the services may share one: the key names the service.
    LOCK_CLASS = 7_471_001

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        service: str,
        batch_size: int = 1000,
        poll_interval_s: float = 0.5,
        retention_s: int = 3600,
        inbox_retention_s: int = 0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        producer_factory: ProducerFactory | None = None,
        health_interval_s: float = 5.0,
    ) -> None:
        self.pool = pool
        self.producer = producer
        self.service = service
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.retention_s = retention_s
        self.inbox_retention_s = inbox_retention_s
        self.max_message_bytes = max_message_bytes
        self.producer_factory = producer_factory
        self.health_interval_s = health_interval_s
        self.lock_key = zlib.crc32(f"leadflow-outbox:{service}".encode()) - 2**31
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Tell the relay that new rows were committed."""
        self._wake.set()

    def start(self) -> None:
        """Run the relay loop, and the loop keeping its gauges current, in the background."""
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-outbox-relay")
        self._watch_task = asyncio.create_task(self._watch(), name=f"{self.service}-outbox-watch")

    async def stop(self, timeout_s: float = 20.0) -> None:
        """Publish what is pending, then stop; what is left after the timeout waits for the next start."""
        self._stopping = True
        self._wake.set()
        if self._watch_task:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout_s)
            except TimeoutError:
                log.warning("outbox relay stopped with rows unpublished; the next start publishes them")
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        rounds = 0
        backoff = RETRY_FIRST_S
        while True:
            try:
                sent = await self.publish_pending()
                rounds += 1
                backoff = RETRY_FIRST_S
                if rounds % 200 == 0:
                    await self._purge()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay round failed; retrying", error=repr(exc), backoff_s=backoff)
                metrics.RELAY_FAILURES.labels(self.service).inc()
                sent = None
                await asyncio.sleep(backoff)
                backoff = next_backoff(backoff)
            if self._stopping:
                if sent == 0:
                    return
                if sent is None:
                    # Another replica holds the relay lock, or the round failed: the rows are not out yet.
                    await asyncio.sleep(0.05)
                continue
            if sent is None:
                # Another process of the service holds the relay; rows committed here must not wait
                # for its next poll, so try again soon while we know of some.
                if self._wake.is_set():
                    await asyncio.sleep(0.02)
                    continue
                sent = 0
            if sent >= self.batch_size:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)

    async def _watch(self) -> None:
        while True:
            try:
                await self.health()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("outbox health not measured", error=repr(exc))
            await asyncio.sleep(self.health_interval_s)

    async def health(self) -> OutboxHealth:
        """Measure the outbox (whichever replica relays it) and update its gauges."""
        row = await self.pool.fetchrow(_HEALTH)
        assert row is not None
        health = OutboxHealth(row["oldest"], row["parked"], row["idle"])
        metrics.OUTBOX_OLDEST_WAITING.labels(self.service).set(health.oldest_waiting_s or 0.0)
        metrics.OUTBOX_PARKED_ROWS.labels(self.service).set(health.parked)
        return health

    async def publish_pending(self) -> int | None:
        """Publish one batch of waiting rows, parking those Kafka would never take; answer how many were
        settled either way (None: another relay is at it). A failure worth a retry is raised once what did
        get through is recorded."""
        async with self.pool.acquire() as conn, conn.transaction():
            # A bitmap scan would be planned for the few rows expected, but only a plain index scan marks the
            # index entries of rows published earlier as dead; without that, every round reads them all again
            # until the next vacuum.
            locked = await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock($1::int4, $2::int4)"
                " AND set_config('enable_bitmapscan', 'off', true) = 'off'",
                self.LOCK_CLASS,
                self.lock_key,
            )
            if not locked:
                return None
            # Headers come as their JSON text: rows share a few texts, each decoded and encoded once (memo).
            rows = await conn.fetch(_WAITING, self.batch_size)
            if not rows:
                return 0
            lot = ParkingLot(self.max_message_bytes)
            published, failure = await self._send(rows, lot)
            if published:
                await conn.execute(
                    "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", published
                )
            if lot.parked:
                await conn.execute(_PARK, [p.row_id for p in lot.parked], [p.reason for p in lot.parked])
        if published:
            metrics.EVENTS_PUBLISHED.labels(self.service).inc(len(published))
        self._report(lot.parked)
        if failure is not None:
            raise failure
        return len(published) + len(lot.parked)

    async def _send(
        self, rows: list[asyncpg.Record], lot: ParkingLot
    ) -> tuple[list[int], BaseException | None]:
        """Send the rows the lot admits; answer the ids Kafka took and the first failure worth a retry."""
        sent: list[tuple[asyncpg.Record, asyncio.Future[object]]] = []
        send = self.producer.send
        for row in rows:
            row_id, topic, key, payload, headers_json, held_by = row
            try:
                headers = _kafka_headers(headers_json)
                if lot.admit(row_id, topic, key, payload, headers, held_by):
                    sent.append((row, await send(topic, value=payload, key=key, headers=headers)))
            except UNSENDABLE as exc:
                lot.park(row_id, topic, key, f"cannot be sent: {type(exc).__name__}: {exc}", "invalid")
        published: list[int] = []
        refused: list[asyncpg.Record] = []
        unsettled: set[tuple[str, bytes | None]] = set()
        failure: BaseException | None = None
        renew = False
        for index, (row, future) in enumerate(sent):
            try:
                await future
            except RECORD_ERRORS:
                refused.append(row)
            except Exception as exc:
                failure = failure or exc
                unsettled.add((row["topic"], row["key"]))
                # The broker refused a batch, so the producer's sequence numbers run ahead of what it holds.
                renew = renew or isinstance(exc, OutOfOrderSequenceNumber)
            except BaseException:
                for _, rest in sent[index + 1 :]:
                    rest.add_done_callback(_retrieve)
                raise
            else:
                published.append(row["id"])
        if refused or renew:
            await self._renew_producer()
        # A refused batch may hold good rows beside the bad one: each goes again alone to tell them apart.
        for row in refused:
            row_id, topic, key, payload, headers_json, _ = row
            blocker = lot.blocker(topic, key)
            if blocker is not None:
                lot.park(row_id, topic, key, f"held behind parked row {blocker} of the same key", "held")
                continue
            if (topic, key) in unsettled:
                continue
            try:
                headers = _kafka_headers(headers_json)
                await (await self.producer.send(topic, value=payload, key=key, headers=headers))
            except RECORD_ERRORS as exc:
                too_large = isinstance(exc, MessageSizeTooLargeError | RecordListTooLargeError)
                kind = "too_large" if too_large else "invalid"
                lot.park(row_id, topic, key, f"refused by Kafka: {type(exc).__name__}", kind)
                await self._renew_producer()
            except Exception as exc:
                failure = failure or exc
                unsettled.add((topic, key))
            else:
                published.append(row_id)
        return published, failure

    async def _renew_producer(self) -> None:
        """Start a new producer: after the broker refused a batch, it refuses the old one's later batches."""
        if self.producer_factory is None:
            return
        old = self.producer
        self.producer = await self.producer_factory()
        with contextlib.suppress(Exception):
            await old.stop()
        log.info("outbox relay renewed its producer after Kafka refused a batch")

    def _report(self, parked: list[Parked]) -> None:
        """Count and log the parked rows: each one refused, and those held behind in one line."""
        if not parked:
            return
        held = 0
        for row in parked:
            metrics.OUTBOX_PARKED.labels(self.service, row.kind).inc()
            if row.kind == "held":
                held += 1
            else:
                log.warning("outbox row parked", service=self.service, row=row.row_id, reason=row.reason)
        if held:
            log.warning("outbox rows held behind parked rows of their key", service=self.service, rows=held)

    async def _purge(self) -> None:
        """Forget published outbox rows and inbox records older than their retention, a slice at a time."""
        async with self.pool.acquire() as conn:
            if self.retention_s:
                await conn.execute(
                    "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)",
                    float(self.retention_s),
                )
            if self.inbox_retention_s:
                # Slices keep each statement short; up to 20 of them let a busy service keep pace.
                for _ in range(20):
                    status = await conn.execute(
                        "DELETE FROM inbox WHERE (consumer, event_id) IN (SELECT consumer, event_id"
                        " FROM inbox WHERE processed_at < now() - make_interval(secs => $1) LIMIT 10000)",
                        float(self.inbox_retention_s),
                    )
                    if status != "DELETE 10000":
                        break


def _retrieve(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()
