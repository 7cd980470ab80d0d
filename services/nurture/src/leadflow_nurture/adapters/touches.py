"""SQL of touches: the scheduler's claims and leases, what became of each touch, and the next step's touch."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import asyncpg

from leadflow_nurture.domain.enrollment import TouchOutcome, TouchRecord
from leadflow_shared.db import columns

_CLAIM = (
    "SELECT t.id, t.enrollment_id, t.lead_id, t.step, t.channel, t.content_ref, t.attempts,"
    " e.track, e.track_version, e.status AS enrollment_status, l.profile, c.opted_in,"
    " u.email IS NOT NULL AS undeliverable"
    " FROM touches t JOIN enrollments e ON e.id = t.enrollment_id"
    " LEFT JOIN leads l ON l.id = t.lead_id"
    " LEFT JOIN consent c ON c.lead_id = t.lead_id AND c.channel = 'email'"
    " LEFT JOIN undeliverable u ON u.email = lower(l.profile->>'email')"
    " WHERE t.status = 'due' AND t.due_at <= now()"
    " AND (t.leased_until IS NULL OR t.leased_until <= now())"
    " ORDER BY t.due_at LIMIT $1 FOR UPDATE OF t SKIP LOCKED"
)


async def claim_due(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Lock due touches no round holds, oldest due first, with their enrollment, profile, consent, bounce."""
    rows: list[asyncpg.Record] = await conn.fetch(_CLAIM, limit)
    return rows


async def lease(
    conn: asyncpg.Connection, touch_ids: list[int], lease_id: uuid.UUID, duration: timedelta
) -> None:
    """Lease touches to a round for a while."""
    await conn.execute(
        "UPDATE touches SET lease = $2, leased_until = now() + $3::interval WHERE id = ANY($1::bigint[])",
        touch_ids,
        lease_id,
        duration,
    )


async def lock_held(conn: asyncpg.Connection, touch_ids: list[int], lease_id: uuid.UUID) -> set[int]:
    """Those of the touches still due under this lease, locked."""
    rows = await conn.fetch(
        "SELECT id FROM touches WHERE id = ANY($1::bigint[]) AND lease = $2 AND status = 'due'"
        " ORDER BY id FOR UPDATE",
        touch_ids,
        lease_id,
    )
    return {row["id"] for row in rows}


async def put_off(conn: asyncpg.Connection, retries: Sequence[tuple[int, str, timedelta, int]]) -> None:
    """Make (touch id, error, after, attempts counted) touches due again later, out of any lease."""
    # Claimed touches are distinct rows: one statement for all does what one per touch did.
    await conn.execute(
        "UPDATE touches SET attempts = attempts + x.counted, last_error = x.error,"
        " due_at = now() + x.after, lease = NULL, leased_until = NULL"
        " FROM unnest($1::bigint[], $2::text[], $3::interval[], $4::int[])"
        " AS x (id, error, after, counted)"
        " WHERE touches.id = ANY($1::bigint[]) AND touches.id = x.id",
        *columns(retries, 4),
    )


async def record_failures(
    conn: asyncpg.Connection, touch_ids: list[int], kinds: list[str], reasons: list[str]
) -> None:
    """Keep the kind of failure and why of each touch."""
    await conn.execute(
        "UPDATE touches SET last_error = x.reason, failure = x.kind"
        " FROM unnest($1::bigint[], $2::text[], $3::text[]) AS x (id, kind, reason)"
        " WHERE touches.id = ANY($1::bigint[]) AND touches.id = x.id",
        touch_ids,
        kinds,
        reasons,
    )


async def mark_undeliverable(
    conn: asyncpg.Connection, touch_ids: list[int], lead_ids: list[Any], reasons: list[str]
) -> None:
    """Keep the addresses of the touches' leads as undeliverable, with the touch and why (first one stays)."""
    await conn.execute(
        "INSERT INTO undeliverable (email, reason, touch_id)"
        " SELECT lower(l.profile->>'email'), x.reason, x.id"
        " FROM unnest($1::bigint[], $2::uuid[], $3::text[]) AS x (id, lead_id, reason)"
        " JOIN leads l ON l.id = x.lead_id WHERE l.profile->>'email' IS NOT NULL"
        " ON CONFLICT (email) DO NOTHING",
        touch_ids,
        lead_ids,
        reasons,
    )


async def settle(conn: asyncpg.Connection, touch_ids: list[int], statuses: list[str]) -> None:
    """Give touches their final status, counting the attempt and ending any lease."""
    await conn.execute(
        "UPDATE touches SET status = x.status, done_at = now(), attempts = attempts + 1,"
        " lease = NULL, leased_until = NULL"
        " FROM unnest($1::bigint[], $2::text[]) AS x (id, status)"
        " WHERE touches.id = ANY($1::bigint[]) AND touches.id = x.id",
        touch_ids,
        statuses,
    )


async def schedule(conn: asyncpg.Connection, touches: Sequence[tuple[Any, ...]]) -> None:
    """Add (enrollment id, lead id, step, channel, content, delay) touches, due after their delay from now."""
    # In the order given, so the new touches' ids run as they did one INSERT at a time.
    await conn.execute(
        "INSERT INTO touches (enrollment_id, lead_id, step, channel, content_ref, due_at)"
        " SELECT enrollment_id, lead_id, step, channel, content_ref, now() + delay"
        " FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::interval[])"
        " WITH ORDINALITY AS x (enrollment_id, lead_id, step, channel, content_ref, delay, position)"
        " ORDER BY position ON CONFLICT (enrollment_id, step) DO NOTHING",
        *columns(touches, 6),
    )


async def history(conn: asyncpg.Connection, enrollment_ids: list[Any]) -> dict[Any, list[TouchRecord]]:
    """The settled touches (neither due nor cancelled) of each enrollment, by step."""
    records: dict[Any, list[TouchRecord]] = {}
    for touch in await conn.fetch(
        "SELECT enrollment_id, step, channel, content_ref, status, done_at FROM touches"
        " WHERE enrollment_id = ANY($1::uuid[]) AND status <> 'due' AND status <> 'cancelled'"
        " ORDER BY enrollment_id, step",
        enrollment_ids,
    ):
        records.setdefault(touch["enrollment_id"], []).append(
            TouchRecord(
                step=touch["step"],
                channel=touch["channel"],
                content_ref=touch["content_ref"],
                outcome=TouchOutcome(touch["status"]),
                at=touch["done_at"],
            )
        )
    return records
