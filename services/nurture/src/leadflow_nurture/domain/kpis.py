"""Per-track KPIs: counts from enrollments, and the rates derived from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from leadflow_nurture.domain.enrollment import Enrollment, EnrollmentStatus, TouchOutcome
from leadflow_shared.contracts.events import ExhaustedNext


@dataclass(frozen=True)
class TrackKpis:
    """The counts of one track; rates are None while nobody was enrolled."""

    track: str
    enrolled: int = 0
    active: int = 0
    touches_sent: int = 0
    touches_skipped: int = 0
    engaged: int = 0
    requalified: int = 0
    exhausted: int = 0
    archived: int = 0
    moved: int = 0
    unsubscribed: int = 0
    converted: int = 0

    @property
    def engagement_rate(self) -> float | None:
        """Share of enrolled leads that engaged at least once."""
        return self.engaged / self.enrolled if self.enrolled else None

    @property
    def requalified_rate(self) -> float | None:
        """Share of enrolled leads sent back to qualification."""
        return self.requalified / self.enrolled if self.enrolled else None

    @property
    def exhausted_rate(self) -> float | None:
        """Share of enrolled leads whose track ran out without engagement."""
        return self.exhausted / self.enrolled if self.enrolled else None

    def __add__(self, other: TrackKpis) -> TrackKpis:
        if other.track != self.track:
            raise ValueError(f"cannot add KPIs of {other.track!r} to those of {self.track!r}")
        counts = {name: getattr(self, name) + getattr(other, name) for name in _COUNTS}
        return TrackKpis(track=self.track, **counts)


_COUNTS = tuple(name for name in TrackKpis.__dataclass_fields__ if name != "track")


def enrollment_kpis(enrollment: Enrollment) -> TrackKpis:
    """What one enrollment contributes to its track's KPIs."""
    status = enrollment.status
    exhausted = status is EnrollmentStatus.EXHAUSTED
    return TrackKpis(
        track=enrollment.track,
        enrolled=1,
        active=int(status is EnrollmentStatus.ACTIVE),
        touches_sent=enrollment.touches_sent,
        touches_skipped=sum(1 for t in enrollment.touches if t.outcome is not TouchOutcome.SENT),
        engaged=int(enrollment.last_engaged_at is not None),
        requalified=int(status is EnrollmentStatus.REQUALIFIED),
        exhausted=int(exhausted),
        archived=int(exhausted and enrollment.exhausted_next is ExhaustedNext.ARCHIVE),
        moved=int(exhausted and enrollment.exhausted_next is ExhaustedNext.MOVE),
        unsubscribed=int(status is EnrollmentStatus.UNSUBSCRIBED),
        converted=int(status is EnrollmentStatus.CONVERTED),
    )


def track_kpis(enrollments: Iterable[Enrollment]) -> dict[str, TrackKpis]:
    """KPIs per track name over any number of enrollments."""
    totals: dict[str, TrackKpis] = {}
    for enrollment in enrollments:
        own = enrollment_kpis(enrollment)
        totals[own.track] = totals[own.track] + own if own.track in totals else own
    return totals
