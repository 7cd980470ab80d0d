"""One unit of work: the state change, the inbox record and the outbox events commit together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import EventData
from leadflow_shared.outbox import DEFAULT_MAX_MESSAGE_BYTES, Outbox, OutboxRelay


@dataclass
class UnitOfWork:
    """A connection inside an open transaction, and the outbox of that transaction."""

    conn: asyncpg.Connection
    outbox: Outbox
    # What the subscription fetched over the network for this batch before its transaction, by event id.
    prepared: Mapping[UUID, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UnitOfWorkFactory:
    """Opens units of work on the service's pool and wakes the relay after each commit."""

    pool: asyncpg.Pool
    source: str
    topic_prefix: str
    relay: OutboxRelay | None = None
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    # Whether events about a lead follow its journey and timeline (the service's migrations made the tables).
    journeys: bool = True

    @asynccontextmanager
    async def __call__(self, prepared: Mapping[UUID, Any] | None = None) -> AsyncIterator[UnitOfWork]:
        """Begin a transaction that commits when the block ends without error, else rolls back."""
        async with self.pool.acquire() as conn:
            outbox = Outbox(conn, self.source, self.topic_prefix, self.max_message_bytes, self.journeys)
            async with conn.transaction():
                yield UnitOfWork(conn, outbox, prepared or {})
                await outbox.flush()
        if outbox.written and self.relay:
            self.relay.wake()

    async def emit(self, data: EventData, *, correlation_id: str | None = None) -> Envelope:
        """Store one event that changes no state beside it nor starts a journey (a submission): one statement.

        Raises EventTooLarge when its message would exceed the broker's size limit.
        """
        async with self.pool.acquire() as conn:
            outbox = Outbox(conn, self.source, self.topic_prefix, self.max_message_bytes)
            envelope = await outbox.emit(data, correlation_id=correlation_id)
            await outbox.flush()
        if self.relay:
            self.relay.wake()
        return envelope
