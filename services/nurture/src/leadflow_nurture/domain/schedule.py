"""When each step of a track comes due, and whether it is sent or skipped for lack of consent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadflow_nurture.domain.enrollment import Enrollment, TouchOutcome, TouchRecord
from leadflow_nurture.domain.tracks import Step, Track


def due_times(start: datetime, track: Track) -> tuple[datetime, ...]:
    """The planned due time of every step, each delay counted from the previous step, the first from start."""
    times: list[datetime] = []
    at = start
    for step in track.steps:
        at = at + step.delay.as_timedelta()
        times.append(at)
    return tuple(times)


@dataclass(frozen=True)
class PendingTouch:
    """The next step of an enrollment, when it is due and what will become of it."""

    step: int
    definition: Step
    due_at: datetime
    outcome: TouchOutcome
    due: bool

    @property
    def will_send(self) -> bool:
        """Whether the step reaches the lead (False: it is skipped and recorded, never sent)."""
        return self.outcome is TouchOutcome.SENT


def next_touch(enrollment: Enrollment, track: Track, now: datetime) -> PendingTouch | None:
    """The next step of an active enrollment, due at `now` or not yet; None when nothing is left."""
    _check_track(enrollment, track)
    if not enrollment.is_active or len(enrollment.touches) >= len(track.steps):
        return None
    index = len(enrollment.touches)
    step = track.steps[index]
    # Counted from the touch as it actually happened, so a scheduler that was down does not fire
    # a burst of overdue steps at once when it comes back.
    previous = enrollment.last_touch_at or enrollment.started_at
    opted_out = step.contact_channel in enrollment.opted_out
    due_at = previous + step.delay.as_timedelta()
    return PendingTouch(
        step=index + 1,
        definition=step,
        due_at=due_at,
        outcome=TouchOutcome.SKIPPED_NO_CONSENT if opted_out else TouchOutcome.SENT,
        due=due_at <= now,
    )


def take_due_touch(
    enrollment: Enrollment, track: Track, now: datetime
) -> tuple[Enrollment, TouchRecord] | None:
    """Record the next step if due: the new state and the touch (send it only if its outcome is SENT)."""
    pending = next_touch(enrollment, track, now)
    if pending is None or not pending.due:
        return None
    record = TouchRecord(
        step=pending.step,
        channel=pending.definition.channel,
        content_ref=pending.definition.content_ref,
        outcome=pending.outcome,
        at=now,
    )
    return enrollment.model_copy(update={"touches": (*enrollment.touches, record)}), record


def _check_track(enrollment: Enrollment, track: Track) -> None:
    if (enrollment.track, enrollment.track_version) != (track.name, track.version):
        raise ValueError(
            f"enrollment {enrollment.id} is on {enrollment.track!r} v{enrollment.track_version},"
            f" not {track.name!r} v{track.version}"
        )
