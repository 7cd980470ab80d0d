"""Engagement while enrolled, and the two ways a track ends on its own: requalification or exhaustion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadflow_nurture.domain.enrollment import Enrollment, EnrollmentStatus
from leadflow_nurture.domain.tracks import Track
from leadflow_shared.contracts.events import ExhaustedNext
from leadflow_shared.contracts.lead import ActivityType, TriggerKind


@dataclass(frozen=True)
class RequalificationRequest:
    """Qualification should judge the lead again, and why."""

    reason: str
    trigger: TriggerKind | None = None


@dataclass(frozen=True)
class Exhaustion:
    """A track ran out without enough engagement: archive the lead or move it to another track."""

    next: ExhaustedNext
    next_track: str | None = None


def record_engagement(
    enrollment: Enrollment,
    track: Track,
    activity: ActivityType,
    at: datetime,
    trigger: TriggerKind | None = None,
) -> tuple[Enrollment, RequalificationRequest | None]:
    """Add an activity's points; a trigger or the threshold ends it with a requalification request."""
    if not enrollment.is_active:
        return enrollment, None
    if trigger is not None and trigger in track.exit.requalify_triggers:
        request = RequalificationRequest(reason=f"trigger event: {trigger.value}", trigger=trigger)
        engaged = enrollment.model_copy(update={"last_engaged_at": at})
        return engaged.ended(EnrollmentStatus.REQUALIFIED, at, request.reason), request
    points = track.points_for(activity)
    if points <= 0:
        return enrollment, None
    total = enrollment.engagement_points + points
    engaged = enrollment.model_copy(update={"engagement_points": total, "last_engaged_at": at})
    threshold = track.exit.engagement_threshold
    if total < threshold:
        return engaged, None
    request = RequalificationRequest(
        reason=f"engagement threshold reached: {total} of {threshold} points (last: {activity.value})"
    )
    return engaged.ended(EnrollmentStatus.REQUALIFIED, at, request.reason), request


def check_exhaustion(
    enrollment: Enrollment, track: Track, now: datetime
) -> tuple[Enrollment, Exhaustion] | None:
    """End an enrollment whose last step is done and whose grace period passed without engagement."""
    if not enrollment.is_active or len(enrollment.touches) < len(track.steps):
        return None
    quiet_since = max(filter(None, (enrollment.last_touch_at, enrollment.last_engaged_at)), default=None)
    if quiet_since is None or now < quiet_since + track.exit.grace.as_timedelta():
        return None
    outcome = Exhaustion(next=track.on_exhaustion.action, next_track=track.on_exhaustion.move_to)
    reason = (
        f"exhausted: moved to {outcome.next_track}"
        if outcome.next is ExhaustedNext.MOVE
        else "exhausted: archived after no engagement"
    )
    ended = enrollment.ended(EnrollmentStatus.EXHAUSTED, now, reason).model_copy(
        update={"exhausted_next": outcome.next, "next_track": outcome.next_track}
    )
    return ended, outcome
