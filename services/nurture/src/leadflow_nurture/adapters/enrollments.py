"""SQL of enrollments and archives: leads put on a track, their engagement and end, and leads set aside."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from leadflow_nurture.domain.enrollment import Enrollment, EnrollmentStatus
from leadflow_shared.db import columns, execute_by_key

# id, lead id, track, track version, source, and the first touch's channel, content and due time
NewEnrollment = tuple[UUID, UUID, str, int, str, str, str, datetime]


async def start(conn: asyncpg.Connection, started: datetime, new: Sequence[NewEnrollment]) -> set[UUID]:
    """Insert enrollments (see NewEnrollment) with their first touches; the ids of those inserted."""
    ids, lead_ids, tracks, versions, sources, channels, content_refs, due = columns(new, 8)
    # A lead already on a track keeps it: the unique active enrollment refuses the new row, and only the
    # rows inserted get their first touch (in the order given, as one INSERT after the other would).
    rows = await conn.fetch(
        "WITH x AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::text[],"
        " $7::text[], $8::text[], $9::timestamptz[]) WITH ORDINALITY"
        " AS x (id, lead_id, track, track_version, source, channel, content_ref, due_at, position)),"
        " enrolled AS (INSERT INTO enrollments (id, lead_id, track, track_version, source, started_at)"
        " SELECT id, lead_id, track, track_version, source, $6::timestamptz FROM x"
        " ON CONFLICT (lead_id) WHERE status = 'active' DO NOTHING RETURNING id),"
        " first_touches AS (INSERT INTO touches (enrollment_id, lead_id, step, channel, content_ref, due_at)"
        " SELECT id, lead_id, 1, channel, content_ref, due_at FROM x"
        " WHERE id IN (SELECT id FROM enrolled) ORDER BY position)"
        " SELECT id FROM enrolled",
        ids,
        lead_ids,
        tracks,
        versions,
        sources,
        started,
        channels,
        content_refs,
        due,
    )
    return {row["id"] for row in rows}


async def end_active(
    conn: asyncpg.Connection,
    status: EnrollmentStatus,
    lead_ids: list[UUID],
    reasons: list[str],
    spared: list[str | None],
) -> dict[UUID, UUID]:
    """End each lead's active enrollment with its reason, cancelling its due touches, unless the enrollment
    came from the lead's spared entry source; ended ids by lead."""
    # Every status but active is final and a lead has one active enrollment at most, so the active one is
    # the lead's last. Each lead's last enrollment, and each ended enrollment's touches, are read through the
    # index that starts with the lead (the enrollment), whatever the statistics say: while the tables grow
    # faster than autovacuum analyzes them, the planner believed few enrollments were active and few touches
    # due, and read all of those for every lead of a batch (9 ms and 1,200 buffers per call at 60,000 leads).
    # FOR UPDATE reads the rows as they are now, so one ended or sent meanwhile is left as it is.
    rows = await conn.fetch(
        "WITH target AS ("
        "  SELECT a.id, x.reason"
        "  FROM unnest($1::uuid[], $2::text[], $4::text[]) AS x (lead_id, reason, spared)"
        "  CROSS JOIN LATERAL (SELECT e.id, e.status, e.source FROM enrollments e"
        "                      WHERE e.lead_id = x.lead_id ORDER BY e.seq DESC LIMIT 1 FOR UPDATE) a"
        "  WHERE a.status = 'active' AND a.source IS DISTINCT FROM x.spared"
        "), ended AS ("
        "  UPDATE enrollments SET status = $3, ended_at = now(), end_reason = target.reason,"
        "         exhaust_at = NULL"
        "  FROM target WHERE enrollments.id = target.id"
        "  RETURNING enrollments.id, enrollments.lead_id"
        "), cancelled AS ("
        "  UPDATE touches SET status = 'cancelled', done_at = now()"
        "  FROM ended CROSS JOIN LATERAL (SELECT t.id, t.status FROM touches t"
        "                                 WHERE t.enrollment_id = ended.id OFFSET 0 FOR UPDATE) d"
        "  WHERE touches.id = d.id AND d.status = 'due'"
        ") SELECT id, lead_id FROM ended",
        lead_ids,
        reasons,
        status.value,
        spared,
    )
    return {row["lead_id"]: row["id"] for row in rows}


async def lock_last(conn: asyncpg.Connection, lead_id: UUID) -> asyncpg.Record | None:
    """The lead's last enrollment (its active one, if it has one), locked."""
    # Read by the lead's own index (see end_active).
    return await conn.fetchrow(
        "SELECT * FROM enrollments WHERE lead_id = $1 ORDER BY seq DESC LIMIT 1 FOR UPDATE", lead_id
    )


async def record_engagement(
    conn: asyncpg.Connection,
    enrollment_id: UUID,
    points: int,
    last_engaged_at: datetime | None,
    exhaust_at: datetime | None,
) -> None:
    """Keep an enrollment's engagement points, when it last engaged and when it will be exhausted."""
    await conn.execute(
        "UPDATE enrollments SET engagement_points = $2, last_engaged_at = $3, exhaust_at = $4 WHERE id = $1",
        enrollment_id,
        points,
        last_engaged_at,
        exhaust_at,
    )


async def count_touches(
    conn: asyncpg.Connection, updates: dict[Any, tuple[int, int, timedelta | None]]
) -> None:
    """Add each enrollment's (sent, skipped) touches and set when it is exhausted (exhaust after that)."""
    await conn.execute(
        "UPDATE enrollments SET touches_sent = touches_sent + x.sent, touches_skipped = touches_skipped"
        " + x.skipped, last_touch_at = now(), exhaust_at = now() + x.exhaust_after"
        " FROM unnest($1::uuid[], $2::int[], $3::int[], $4::interval[])"
        " AS x (id, sent, skipped, exhaust_after)"
        " WHERE enrollments.id = ANY($1::uuid[]) AND enrollments.id = x.id",
        list(updates),
        *columns(updates.values(), 3),
    )


async def lock_quiet(conn: asyncpg.Connection, limit: int, at: datetime) -> list[asyncpg.Record]:
    """Active enrollments due to be exhausted at this moment, the longest due first, skipping locked ones."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM enrollments WHERE status = 'active' AND exhaust_at <= $2"
        " ORDER BY exhaust_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
        at,
    )
    return rows


async def put_off_exhaustion(conn: asyncpg.Connection, enrollment_id: UUID, exhaust_at: datetime) -> None:
    """Move when an enrollment is exhausted."""
    await conn.execute("UPDATE enrollments SET exhaust_at = $2 WHERE id = $1", enrollment_id, exhaust_at)


async def mark_exhausted(
    conn: asyncpg.Connection,
    enrollment_id: UUID,
    ended_at: datetime | None,
    end_reason: str | None,
    exhausted_next: str,
    next_track: str | None,
) -> None:
    """End an enrollment as exhausted, with what comes next."""
    await conn.execute(
        "UPDATE enrollments SET status = 'exhausted', ended_at = $2, end_reason = $3,"
        " exhausted_next = $4, next_track = $5, exhaust_at = NULL WHERE id = $1",
        enrollment_id,
        ended_at,
        end_reason,
        exhausted_next,
        next_track,
    )


def enrollment_from_row(row: asyncpg.Record) -> Enrollment:
    """The domain view of an enrollment row (touch history is not needed by engagement rules)."""
    return Enrollment(
        id=row["id"],
        lead_id=row["lead_id"],
        track=row["track"],
        track_version=row["track_version"],
        started_at=row["started_at"],
        status=EnrollmentStatus(row["status"]),
        engagement_points=row["engagement_points"],
        last_engaged_at=row["last_engaged_at"],
    )


async def archive(conn: asyncpg.Connection, archives: Sequence[tuple[UUID, str, str]]) -> None:
    """Record (lead id, reason, explanation) archives in one statement; re-archiving refreshes one."""
    await execute_by_key(
        conn,
        "INSERT INTO archives (lead_id, reason, explanation)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])"
        " ON CONFLICT (lead_id) DO UPDATE SET reason = EXCLUDED.reason, explanation = EXCLUDED.explanation,"
        " archived_at = now(), reversed_at = NULL",
        archives,
    )


async def leave_archive(conn: asyncpg.Connection, lead_ids: Sequence[UUID]) -> None:
    """Mark the archives of leads qualification has taken out of the archive as reversed."""
    if lead_ids:
        await conn.execute(
            "UPDATE archives SET reversed_at = now() WHERE lead_id = ANY($1::uuid[]) AND reversed_at IS NULL",
            list(lead_ids),
        )


async def reverse_archive(conn: asyncpg.Connection, lead_id: UUID) -> asyncpg.Record | None:
    """Mark the lead's archive reversed; the archive, or None if there was none to reverse."""
    return await conn.fetchrow(
        "UPDATE archives SET reversed_at = now() WHERE lead_id = $1 AND reversed_at IS NULL"
        " RETURNING lead_id, reason, explanation, archived_at, reversed_at",
        lead_id,
    )
