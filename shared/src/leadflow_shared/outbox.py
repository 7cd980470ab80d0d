"""Transactional outbox: events are rows written with the state change; a relay publishes them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import zlib
from collections.abc import Iterable, Sequence

import asyncpg
import orjson
import structlog
from aiokafka import AIOKafkaProducer

from leadflow_shared import metrics
from leadflow_shared.contracts.envelope import TYPE_HEADER, Envelope, encode, new_event
from leadflow_shared.contracts.events import EventData

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

Header = tuple[str, str]

_INSERT = "INSERT INTO outbox (topic, key, payload, headers) VALUES ($1, $2, $3, $4)"
# Ids follow the queue's order (per-lead order relies on it), so the rows are inserted in array order.
_INSERT_MANY = (
    "INSERT INTO outbox (topic, key, payload, headers) SELECT topic, key, payload, headers::jsonb"
    " FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[]) WITH ORDINALITY"
    " AS r(topic, key, payload, headers, i) ORDER BY i"
)


class Outbox:
    """Collects the events of one transaction and writes them to the outbox table before it commits."""

    def __init__(self, conn: asyncpg.Connection, source: str, topic_prefix: str = "") -> None:
        self.conn = conn
        self.source = source
        self.topic_prefix = topic_prefix
        self.pending: list[tuple[str, bytes | None, bytes, list[Header]]] = []
        self.written = 0

    async def emit(
        self,
        data: EventData,
        *,
        causation: Envelope | None = None,
        correlation_id: str | None = None,
    ) -> Envelope:
        """Wrap the data in an envelope and queue it for this transaction; return the envelope."""
        envelope = new_envelope(data, self.source, causation, correlation_id)
        self.pending.append(
            (self.topic_prefix + data.topic, envelope.key(), encode(envelope), _type_headers(envelope.type))
        )
        return envelope

    async def emit_many(self, items: Sequence[tuple[EventData, Envelope | None]]) -> list[Envelope]:
        """Queue several events at once, each with its causing envelope."""
        return [await self.emit(data, causation=cause) for data, cause in items]

    async def put_many(self, rows: Iterable[tuple[str, bytes | None, bytes, list[Header]]]) -> None:
        """Queue raw messages (topic, key, value, headers), dead letters among them."""
        self.pending.extend(rows)

    def mark(self) -> int:
        """A point to roll the queue back to when one message's work is undone."""
        return len(self.pending)

    def rollback_to(self, mark: int) -> None:
        """Forget what was queued after the mark."""
        del self.pending[mark:]

    async def flush(self) -> None:
        """Write the queued rows in one round trip; called inside the transaction, just before commit."""
        if not self.pending:
            return
        if len(self.pending) == 1:
            # One row is one statement: outside a transaction it commits alone, in one round trip.
            await self.conn.execute(_INSERT, *self.pending[0])
        else:
            topics, keys, payloads, headers = zip(*self.pending, strict=True)
            # Headers go as JSON text: a list of lists would be taken for a two-dimensional array.
            await self.conn.execute(
                _INSERT_MANY,
                list(topics),
                list(keys),
                list(payloads),
                [_headers_json(h) for h in headers],
            )
        self.written += len(self.pending)
        self.pending = []


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


class OutboxRelay:
    """Publishes unsent outbox rows in id order with an idempotent producer, then marks them sent."""

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
    ) -> None:
        self.pool = pool
        self.producer = producer
        self.service = service
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.retention_s = retention_s
        self.inbox_retention_s = inbox_retention_s
        self.lock_key = zlib.crc32(f"leadflow-outbox:{service}".encode()) - 2**31
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Tell the relay that new rows were committed."""
        self._wake.set()

    def start(self) -> None:
        """Run the relay loop in the background."""
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-outbox-relay")

    async def stop(self, timeout_s: float = 20.0) -> None:
        """Publish what is pending, then stop; what is left after the timeout waits for the next start."""
        self._stopping = True
        self._wake.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout_s)
            except TimeoutError:
                log.warning("outbox relay stopped with rows unpublished; the next start publishes them")
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        rounds = 0
        while True:
            try:
                sent = await self.publish_pending()
                rounds += 1
                if rounds % 200 == 0:
                    await self._purge()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay round failed; retrying", error=repr(exc))
                metrics.RELAY_FAILURES.labels(self.service).inc()
                sent = None
                await asyncio.sleep(1.0)
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

    async def publish_pending(self) -> int | None:
        """Publish one batch of unsent rows; answer how many were sent (None: another relay is at it)."""
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
            rows = await conn.fetch(
                "SELECT id, topic, key, payload, headers::text AS headers FROM outbox"
                " WHERE published_at IS NULL ORDER BY id LIMIT $1",
                self.batch_size,
            )
            if not rows:
                return 0
            send = self.producer.send
            futures = [
                await send(topic, value=payload, key=key, headers=_kafka_headers(headers))
                for _, topic, key, payload, headers in rows
            ]
            await _all_delivered(futures)
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                [row["id"] for row in rows],
            )
        metrics.EVENTS_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

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


async def _all_delivered(futures: list[asyncio.Future[object]]) -> None:
    """Wait until Kafka acknowledged every message; raise the first failure in send order.

    The futures settle a producer batch at a time, so after the first wait the rest are mostly done:
    awaiting them in turn costs far less than gather(), which schedules a callback per future.
    """
    for index, future in enumerate(futures):
        try:
            await future
        except BaseException:
            # As gather() does, collect the outcome of the rest, so none is reported as never retrieved.
            for rest in futures[index + 1 :]:
                rest.add_done_callback(_retrieve)
            raise


def _retrieve(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()
