"""One lead on one track: the state every nurture rule reads and returns anew."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadflow_nurture.domain.tracks import EntrySource, StepChannel, Track
from leadflow_shared.contracts.events import ExhaustedNext
from leadflow_shared.contracts.lead import ContactChannel


class EnrollmentStatus(StrEnum):
    """Where an enrollment stands; every status but active is final."""

    ACTIVE = "active"
    REQUALIFIED = "requalified"
    EXHAUSTED = "exhausted"
    UNSUBSCRIBED = "unsubscribed"
    CONVERTED = "converted"


# The statuses that take a lead out of nurture, to sales.
ENDS_NURTURE = frozenset({"qualified", "converted"})
CONVERTED = "converted"


def ends_nurture(to_status: str, category: str) -> bool:
    """Whether a lead reaching this status (or status category) leaves nurture."""
    return to_status in ENDS_NURTURE or category in ENDS_NURTURE


def spared_by_status_change(from_status: str | None) -> EntrySource | None:
    """The entry source whose enrollment a status change from `from_status` leaves running, if any.

    A win-back enrollment starts with the loss of a deal, after the lead converted, and the lead stays
    converted. Status changes from before the loss (to qualified, to converted) come on qualification's
    topic, which may run behind opportunity's: arriving after the loss they must not end the win-back it
    started. Only a change from converted happened after it; a new conversion ends it through opportunity.
    """
    return None if from_status == CONVERTED else EntrySource.OPPORTUNITY_LOST


class TouchOutcome(StrEnum):
    """What became of a due step."""

    SENT = "sent"
    SKIPPED_NO_CONSENT = "skipped_no_consent"
    SKIPPED_NO_ADDRESS = "skipped_no_address"
    # The lead's address bounced before (a 5xx to RCPT): nothing more is sent to it.
    SKIPPED_UNDELIVERABLE = "skipped_undeliverable"
    # The address's hash is on the suppression list (an opt-out or a bounce, of this lead or an erased one).
    SKIPPED_SUPPRESSED = "skipped_suppressed"
    # The email could not be sent: unrenderable, refused for good, or out of retries (reason kept).
    FAILED = "failed"


class TouchRecord(BaseModel):
    """One step that came due: sent, or skipped and recorded as such."""

    model_config = ConfigDict(frozen=True)

    step: int = Field(ge=1, description="1-based position of the step in the track")
    channel: StepChannel
    content_ref: str
    outcome: TouchOutcome
    at: datetime


class Enrollment(BaseModel):
    """One lead on one version of one track, with its touches, engagement and end."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    lead_id: UUID
    track: str
    track_version: int
    started_at: datetime
    status: EnrollmentStatus = EnrollmentStatus.ACTIVE
    touches: tuple[TouchRecord, ...] = ()
    engagement_points: int = 0
    last_engaged_at: datetime | None = None
    opted_out: frozenset[ContactChannel] = frozenset()
    ended_at: datetime | None = None
    end_reason: str | None = None
    exhausted_next: ExhaustedNext | None = None
    next_track: str | None = None

    @field_validator("started_at", "last_engaged_at", "ended_at")
    @classmethod
    def _aware(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and moment.tzinfo is None:
            raise ValueError("times must carry a time zone")
        return moment

    @property
    def is_active(self) -> bool:
        """Whether the enrollment can still send touches and collect engagement."""
        return self.status is EnrollmentStatus.ACTIVE

    @property
    def last_touch_at(self) -> datetime | None:
        """When the most recent step came due and was sent or skipped."""
        return self.touches[-1].at if self.touches else None

    @property
    def touches_sent(self) -> int:
        """How many touches actually reached the lead."""
        return sum(1 for touch in self.touches if touch.outcome is TouchOutcome.SENT)

    def ended(self, status: EnrollmentStatus, at: datetime, reason: str) -> Enrollment:
        """This enrollment ended with a final status and a reason."""
        return self.model_copy(update={"status": status, "ended_at": at, "end_reason": reason})


def start_enrollment(
    enrollment_id: UUID,
    lead_id: UUID,
    track: Track,
    at: datetime,
    opted_out: frozenset[ContactChannel] = frozenset(),
) -> Enrollment:
    """A new, active enrollment of a lead on a track, remembering the channels the lead opted out of."""
    return Enrollment(
        id=enrollment_id,
        lead_id=lead_id,
        track=track.name,
        track_version=track.version,
        started_at=at,
        opted_out=opted_out,
    )


def with_consent(enrollment: Enrollment, channel: ContactChannel, opted_in: bool) -> Enrollment:
    """The enrollment after the lead opted in or out of a contact channel."""
    opted_out = enrollment.opted_out - {channel} if opted_in else enrollment.opted_out | {channel}
    return enrollment.model_copy(update={"opted_out": opted_out})


def unsubscribe(enrollment: Enrollment, at: datetime) -> Enrollment:
    """The lead unsubscribed from this track (List-Unsubscribe): it ends, whatever the track says."""
    if not enrollment.is_active:
        return enrollment
    return enrollment.ended(EnrollmentStatus.UNSUBSCRIBED, at, "unsubscribed")


def convert(enrollment: Enrollment, at: datetime, reason: str = "converted") -> Enrollment:
    """The lead was qualified or converted elsewhere: nurture stops."""
    if not enrollment.is_active:
        return enrollment
    return enrollment.ended(EnrollmentStatus.CONVERTED, at, reason)
