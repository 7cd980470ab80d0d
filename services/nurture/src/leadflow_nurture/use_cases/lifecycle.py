"""Enrollment, archive, engagement and exits: each call runs inside the caller's unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from leadflow_nurture.adapters import enrollments
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.engagement import record_engagement
from leadflow_nurture.domain.enrollment import EnrollmentStatus
from leadflow_nurture.domain.matching import LeadContext, choose_track
from leadflow_nurture.domain.tracks import EntrySource, Track, TrackSet
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    LeadEngaged,
    LeadRequalificationRequested,
    NurtureEnrolled,
)
from leadflow_shared.db import columns_by_key
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
    inserted = await enrollments.start(
        uow.conn,
        started,
        [
            (
                enrollment_id,
                enrollee.lead_id,
                track.name,
                track.version,
                enrollee.context.source.value,
                track.steps[0].channel.value,
                track.steps[0].content_ref,
                started + track.steps[0].delay.as_timedelta(),
            )
            for _, enrollment_id, enrollee, track in planned
        ],
    )
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
    await enrollments.archive(conn, archives)


async def end_active(
    conn: asyncpg.Connection, lead_id: UUID, status: EnrollmentStatus, reason: str
) -> UUID | None:
    """End the lead's active enrollment, cancelling its due touches; the enrollment id, if any."""
    return (await end_active_many(conn, status, [(lead_id, reason)])).get(lead_id)


async def end_active_many(
    conn: asyncpg.Connection,
    status: EnrollmentStatus,
    ends: Sequence[tuple[UUID, str]],
    sparing: Mapping[UUID, EntrySource] | None = None,
) -> dict[UUID, UUID]:
    """end_active for many leads (lead id, reason) in one statement, leaving an enrollment that came from
    the lead's source in `sparing` active; the ended enrollment id per lead."""
    # Once a lead's enrollment has ended, a second end finds nothing active: its first reason is the one kept.
    columns = columns_by_key(ends, keep="first")
    if not columns:
        return {}
    lead_ids, reasons = columns
    spared = [sparing[lead].value if sparing and lead in sparing else None for lead in lead_ids]
    return await enrollments.end_active(conn, status, lead_ids, reasons, spared)


async def reverse_archive(
    uow: UnitOfWork, lead_id: UUID, *, actor: str, reason: str = ARCHIVE_REVERSED
) -> dict[str, Any] | None:
    """Undo an archive by a person's hand and ask qualification to reopen the lead; None if nothing to
    reverse."""
    row = await enrollments.reverse_archive(uow.conn, lead_id)
    if row is None:
        return None
    await uow.outbox.emit(LeadRequalificationRequested(lead_id=lead_id, reason=reason, actor=actor))
    return dict(row)


async def engage(uow: UnitOfWork, store: TrackStore, event: LeadEngaged, causation: Envelope) -> None:
    """Add the engagement to the active enrollment; a trigger or the threshold requests requalification."""
    row = await enrollments.lock_last(uow.conn, event.lead_id)
    if row is None or row["status"] != EnrollmentStatus.ACTIVE:
        return
    track = await store.version(uow.conn, row["track"], row["track_version"])
    at = event.occurred_at if event.occurred_at.tzinfo else event.occurred_at.replace(tzinfo=UTC)
    before = enrollments.enrollment_from_row(row)
    after, request = record_engagement(before, track, event.activity_type, at, event.trigger)
    if after == before:
        return
    exhaust_at = row["exhaust_at"]
    if exhaust_at is not None and after.last_engaged_at is not None:
        exhaust_at = max(exhaust_at, after.last_engaged_at + track.exit.grace.as_timedelta())
    await enrollments.record_engagement(
        uow.conn, row["id"], after.engagement_points, after.last_engaged_at, exhaust_at
    )
    if request is not None:
        await end_active(uow.conn, event.lead_id, EnrollmentStatus.REQUALIFIED, request.reason)
        await uow.outbox.emit(
            LeadRequalificationRequested(
                lead_id=event.lead_id, reason=request.reason, trigger=request.trigger, enrollment_id=row["id"]
            ),
            causation=causation,
        )
