"""Idempotent inbox: an event id is recorded in the same transaction as the change it causes."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

INBOX_DDL = """
CREATE TABLE IF NOT EXISTS inbox (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
"""

# A later migration of every service: housekeeping forgets old records by age.
INBOX_AGE_INDEX = "CREATE INDEX IF NOT EXISTS inbox_processed_at ON inbox (processed_at)"


async def claim(conn: asyncpg.Connection, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
    """Record the ids not seen before by this consumer and answer which those were."""
    if not event_ids:
        return set()
    rows = await conn.fetch(
        "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])"
        " ON CONFLICT DO NOTHING RETURNING event_id",
        consumer,
        list(event_ids),
    )
    return {row["event_id"] for row in rows}
