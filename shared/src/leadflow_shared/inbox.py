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


# The claim and the erased leads among the batch's, in one round trip (a consumer asks both of every batch).
_CLAIM_AND_ERASED = (
    "WITH fresh AS (INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])"
    " ON CONFLICT DO NOTHING RETURNING event_id)"
    " SELECT event_id, NULL::text AS lead_id FROM fresh"
    " UNION ALL SELECT NULL, lead_id FROM erased_leads WHERE lead_id = ANY($3::text[])"
)


async def claim_noting_erased(
    conn: asyncpg.Connection, consumer: str, event_ids: Sequence[UUID], leads: Sequence[str]
) -> tuple[set[UUID], set[str]]:
    """claim, and which of these lead ids (Kafka keys) the service erased (its `erased_leads`)."""
    if not event_ids:
        return set(), set()
    rows = await conn.fetch(_CLAIM_AND_ERASED, consumer, list(event_ids), sorted(set(leads)))
    fresh = {row["event_id"] for row in rows if row["event_id"] is not None}
    return fresh, {row["lead_id"] for row in rows if row["lead_id"] is not None}
