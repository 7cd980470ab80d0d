"""Enrollment, archive, engagement and exits: each call runs inside the caller's unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.engagement import record_engagement
from leadflow_nurture.domain.enrollment import Enrollment, EnrollmentStatus
from leadflow_nurture.domain.matching import LeadContext, choose_track
from leadflow_nurture.domain.tracks import Track, TrackSet
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    LeadEngaged,
    LeadRequalificationRequested,
    NurtureEnrolled,
)
from leadflow_shared.contracts.lead import LeadProfile
from leadflow_shared.db import columns_by_key, execute_by_key
from leadflow_shared.uow import UnitOfWork

ARCHIVE_REVERSED = "archive reversed"


def now() -> datetime:
    """The current time, aware."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Enrollee:
    """A lead to put on a track: what matching knows of it, the event that sends it, and a track if fixed."""

    lead_id: UUID
    context: LeadContext
    causation: Envelope | None
    track: Track | None = None


async def enroll(
    uow: UnitOfWork,
    tracks: TrackSet,
    lead_id: UUID,
    context: LeadContext,
    causation: Envelope | None,
    track: Track | None = None,
) -> UUID | None:
    """Put the lead on the first matching track in force (or the one given); None if already enrolled.

    A lead no track takes is archived, so no unqualified lead is left without a path.
    """
    return (await enroll_many(uow, tracks, [Enrollee(lead_id, context, causation, track)]))[0]


async def enroll_many(uow: UnitOfWork, tracks: TrackSet, enrollees: Sequence[Enrollee]) -> list[UUID | None]:
    """enroll for each lead in turn, in a few statements for all; the enrollment id (or None) of each."""
    chosen = [e.track if e.track is not None else choose_track(tracks, e.context) for e in enrollees]
    await archive_many(
        uow.conn,
        [
            (e.lead_id, "no_matching_track", f"no nurture track takes a {e.context.source} lead")
            for e, track in zip(enrollees, chosen, strict=True)
            if track is None
        ],
    )
    started = now()
    planned = [
        (position, uuid.uuid4(), enrollee, track)
        for position, (enrollee, track) in enumerate(zip(enrollees, chosen, strict=True))
        if track is not None
    ]
    outcome: list[UUID | None] = [None for _ in enrollees]
    if not planned:
        return outcome
    # A lead already on a track keeps it: the unique active enrollment refuses the new row, and only the
    # rows inserted get their first touch (in the order given, as one INSERT after the other would).
    rows = await uow.conn.fetch(
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
        [enrollment_id for _, enrollment_id, _, _ in planned],
        [enrollee.lead_id for _, _, enrollee, _ in planned],
        [track.name for _, _, _, track in planned],
        [track.version for _, _, _, track in planned],
        [enrollee.context.source.value for _, _, enrollee, _ in planned],
        started,
        [track.steps[0].channel.value for _, _, _, track in planned],
        [track.steps[0].content_ref for _, _, _, track in planned],
        [started + track.steps[0].delay.as_timedelta() for _, _, _, track in planned],
    )
    inserted = {row["id"] for row in rows}
    enrolled = [item for item in planned if item[1] in inserted]
    if not enrolled:
        return outcome
    await uow.outbox.emit_many(
        [
            (
                NurtureEnrolled(
                    lead_id=enrollee.lead_id,
                    track=track.name,
                    track_version=track.version,
                    enrollment_id=enrollment_id,
                ),
                enrollee.causation,
            )
            for _, enrollment_id, enrollee, track in enrolled
        ]
    )
    for position, enrollment_id, _, _ in enrolled:
        outcome[position] = enrollment_id
    return outcome


async def archive(conn: asyncpg.Connection, lead_id: UUID, reason: str, explanation: str) -> None:
    """Record the lead as archived with its reason (re-archiving refreshes it)."""
    await archive_many(conn, [(lead_id, reason, explanation)])


async def archive_many(conn: asyncpg.Connection, archives: Sequence[tuple[UUID, str, str]]) -> None:
    """archive for many leads (lead id, reason, explanation) in one statement, in order."""
    await execute_by_key(
        conn,
        "INSERT INTO archives (lead_id, reason, explanation)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])"
        " ON CONFLICT (lead_id) DO UPDATE SET reason = EXCLUDED.reason, explanation = EXCLUDED.explanation,"
        " archived_at = now(), reversed_at = NULL",
        archives,
    )


async def end_active(
    conn: asyncpg.Connection, lead_id: UUID, status: EnrollmentStatus, reason: str
) -> UUID | None:
    """End the lead's active enrollment, cancelling its due touches; the enrollment id, if any."""
    return (await end_active_many(conn, status, [(lead_id, reason)])).get(lead_id)


async def end_active_many(
    conn: asyncpg.Connection, status: EnrollmentStatus, ends: Sequence[tuple[UUID, str]]
) -> dict[UUID, UUID]:
    """end_active for many leads (lead id, reason) in one statement; the ended enrollment id per lead."""
    # Once a lead's enrollment has ended, a second end finds nothing active: its first reason is the one kept.
    columns = columns_by_key(ends, keep="first")
    if not columns:
        return {}
    # Every status but active is final and a lead has one active enrollment at most, so the active one is
    # the lead's last. Each lead's last enrollment, and each ended enrollment's touches, are read through the
    # index that starts with the lead (the enrollment), whatever the statistics say: while the tables grow
    # faster than autovacuum analyzes them, the planner believed few enrollments were active and few touches
    # due, and read all of those for every lead of a batch (9 ms and 1,200 buffers per call at 60,000 leads).
    # FOR UPDATE reads the rows as they are now, so one ended or sent meanwhile is left as it is.
    rows = await conn.fetch(
        "WITH target AS ("
        "  SELECT a.id, x.reason FROM unnest($1::uuid[], $2::text[]) AS x (lead_id, reason)"
        "  CROSS JOIN LATERAL (SELECT e.id, e.status FROM enrollments e"
        "                      WHERE e.lead_id = x.lead_id ORDER BY e.seq DESC LIMIT 1 FOR UPDATE) a"
        "  WHERE a.status = 'active'"
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
        *columns,
        status.value,
    )
    return {row["lead_id"]: row["id"] for row in rows}


async def leave_archive_many(conn: asyncpg.Connection, lead_ids: Sequence[UUID]) -> None:
    """Mark the archives of leads qualification has taken out of the archive as reversed."""
    if lead_ids:
        await conn.execute(
            "UPDATE archives SET reversed_at = now() WHERE lead_id = ANY($1::uuid[]) AND reversed_at IS NULL",
            list(lead_ids),
        )


async def reverse_archive(
    uow: UnitOfWork, lead_id: UUID, *, actor: str, reason: str = ARCHIVE_REVERSED
) -> dict[str, Any] | None:
    """Undo an archive by a person's hand and ask qualification to reopen the lead; None if nothing to
    reverse."""
    row = await uow.conn.fetchrow(
        "UPDATE archives SET reversed_at = now() WHERE lead_id = $1 AND reversed_at IS NULL"
        " RETURNING lead_id, reason, explanation, archived_at, reversed_at",
        lead_id,
    )
    if row is None:
        return None
    await uow.outbox.emit(LeadRequalificationRequested(lead_id=lead_id, reason=reason, actor=actor))
    return dict(row)


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


async def engage(uow: UnitOfWork, store: TrackStore, event: LeadEngaged, causation: Envelope) -> None:
    """Add the engagement to the active enrollment; a trigger or the threshold requests requalification."""
    # The active enrollment is the lead's last (see end_active_many), read by the lead's own index.
    row = await uow.conn.fetchrow(
        "SELECT * FROM enrollments WHERE lead_id = $1 ORDER BY seq DESC LIMIT 1 FOR UPDATE", event.lead_id
    )
    if row is None or row["status"] != EnrollmentStatus.ACTIVE:
        return
    track = await store.version(uow.conn, row["track"], row["track_version"])
    at = event.occurred_at if event.occurred_at.tzinfo else event.occurred_at.replace(tzinfo=UTC)
    before = enrollment_from_row(row)
    after, request = record_engagement(before, track, event.activity_type, at, event.trigger)
    if after == before:
        return
    exhaust_at = row["exhaust_at"]
    if exhaust_at is not None and after.last_engaged_at is not None:
        exhaust_at = max(exhaust_at, after.last_engaged_at + track.exit.grace.as_timedelta())
    await uow.conn.execute(
        "UPDATE enrollments SET engagement_points = $2, last_engaged_at = $3, exhaust_at = $4 WHERE id = $1",
        row["id"],
        after.engagement_points,
        after.last_engaged_at,
        exhaust_at,
    )
    if request is not None:
        await end_active(uow.conn, event.lead_id, EnrollmentStatus.REQUALIFIED, request.reason)
        await uow.outbox.emit(
            LeadRequalificationRequested(
                lead_id=event.lead_id, reason=request.reason, trigger=request.trigger, enrollment_id=row["id"]
            ),
            causation=causation,
        )


async def profile_of(conn: asyncpg.Connection, lead_id: UUID) -> LeadProfile | None:
    """The lead's profile from the read model, if intake told us."""
    return (await profiles_of(conn, [lead_id])).get(lead_id)


async def profiles_of(conn: asyncpg.Connection, lead_ids: Sequence[UUID]) -> dict[UUID, LeadProfile]:
    """The profiles the read model holds for these leads; leads without one are left out."""
    rows = await conn.fetch("SELECT id, profile FROM leads WHERE id = ANY($1::uuid[])", list(lead_ids))
    return {row["id"]: LeadProfile.model_validate(row["profile"]) for row in rows if row["profile"]}
