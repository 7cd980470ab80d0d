"""Enrollment, archive, engagement, consent and exits: each call runs inside the caller's unit of work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.engagement import record_engagement
from leadflow_nurture.domain.enrollment import Enrollment, EnrollmentStatus
from leadflow_nurture.domain.matching import LeadContext, choose_track
from leadflow_nurture.domain.tracks import Track
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    LeadConsentChanged,
    LeadEngaged,
    LeadRequalificationRequested,
    NurtureEnrolled,
)
from leadflow_shared.contracts.lead import ContactChannel, LeadProfile
from leadflow_shared.uow import UnitOfWork

ARCHIVE_REVERSED = "archive reversed"


def now() -> datetime:
    """The current time, aware."""
    return datetime.now(UTC)


async def enroll(
    uow: UnitOfWork,
    store: TrackStore,
    lead_id: UUID,
    context: LeadContext,
    causation: Envelope | None,
    track: Track | None = None,
) -> UUID | None:
    """Put the lead on the first matching track (or the one given); None if already enrolled.

    A lead no track takes is archived, so no unqualified lead is left without a path.
    """
    if track is None:
        track = choose_track(await store.current(uow.conn), context)
    if track is None:
        await archive(
            uow.conn, lead_id, "no_matching_track", f"no nurture track takes a {context.source} lead"
        )
        return None
    started = now()
    enrollment_id = uuid.uuid4()
    inserted = await uow.conn.fetchval(
        "INSERT INTO enrollments (id, lead_id, track, track_version, source, started_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (lead_id) WHERE status = 'active' DO NOTHING RETURNING id",
        enrollment_id,
        lead_id,
        track.name,
        track.version,
        context.source.value,
        started,
    )
    if inserted is None:
        return None
    first = track.steps[0]
    await uow.conn.execute(
        "INSERT INTO touches (enrollment_id, lead_id, step, channel, content_ref, due_at)"
        " VALUES ($1, $2, 1, $3, $4, $5)",
        enrollment_id,
        lead_id,
        first.channel.value,
        first.content_ref,
        started + first.delay.as_timedelta(),
    )
    await uow.outbox.emit(
        NurtureEnrolled(
            lead_id=lead_id, track=track.name, track_version=track.version, enrollment_id=enrollment_id
        ),
        causation=causation,
    )
    return enrollment_id


async def archive(conn: asyncpg.Connection, lead_id: UUID, reason: str, explanation: str) -> None:
    """Record the lead as archived with its reason (re-archiving refreshes it)."""
    await conn.execute(
        "INSERT INTO archives (lead_id, reason, explanation) VALUES ($1, $2, $3)"
        " ON CONFLICT (lead_id) DO UPDATE SET reason = $2, explanation = $3,"
        " archived_at = now(), reversed_at = NULL",
        lead_id,
        reason,
        explanation,
    )


async def end_active(
    conn: asyncpg.Connection, lead_id: UUID, status: EnrollmentStatus, reason: str
) -> UUID | None:
    """End the lead's active enrollment, cancelling its due touches; the enrollment id, if any."""
    ended: UUID | None = await conn.fetchval(
        "WITH ended AS ("
        "  UPDATE enrollments SET status = $2, ended_at = now(), end_reason = $3, exhaust_at = NULL"
        "  WHERE lead_id = $1 AND status = 'active' RETURNING id"
        "), cancelled AS ("
        "  UPDATE touches SET status = 'cancelled', done_at = now() FROM ended"
        "  WHERE touches.enrollment_id = ended.id AND touches.status = 'due'"
        ") SELECT id FROM ended",
        lead_id,
        status.value,
        reason,
    )
    return ended


async def reverse_archive(uow: UnitOfWork, lead_id: UUID) -> dict[str, Any] | None:
    """Undo an archive and ask qualification to judge the lead again; None if nothing to reverse."""
    row = await uow.conn.fetchrow(
        "UPDATE archives SET reversed_at = now() WHERE lead_id = $1 AND reversed_at IS NULL"
        " RETURNING lead_id, reason, explanation, archived_at, reversed_at",
        lead_id,
    )
    if row is None:
        return None
    await uow.outbox.emit(LeadRequalificationRequested(lead_id=lead_id, reason=ARCHIVE_REVERSED))
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
    row = await uow.conn.fetchrow(
        "SELECT * FROM enrollments WHERE lead_id = $1 AND status = 'active' FOR UPDATE", event.lead_id
    )
    if row is None:
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


async def change_consent(uow: UnitOfWork, event: LeadConsentChanged) -> None:
    """Record the lead's consent; opting out of email ends the enrollment as unsubscribed."""
    await uow.conn.execute(
        "INSERT INTO consent (lead_id, channel, opted_in, reason) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (lead_id, channel) DO UPDATE SET opted_in = $3, reason = $4, changed_at = now()",
        event.lead_id,
        event.channel.value,
        event.opted_in,
        event.reason,
    )
    if not event.opted_in and event.channel is ContactChannel.EMAIL:
        await end_active(
            uow.conn, event.lead_id, EnrollmentStatus.UNSUBSCRIBED, f"opted out of email: {event.reason}"
        )


async def profile_of(conn: asyncpg.Connection, lead_id: UUID) -> LeadProfile | None:
    """The lead's profile from the read model, if intake told us."""
    raw = await conn.fetchval("SELECT profile FROM leads WHERE id = $1", lead_id)
    return LeadProfile.model_validate(raw) if raw else None
