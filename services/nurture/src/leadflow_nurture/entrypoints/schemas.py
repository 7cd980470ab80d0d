"""What nurture's HTTP routes answer, as typed models for the OpenAPI contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from leadflow_nurture.domain.tracks import Track
from leadflow_shared.bounds import Name, Text
from leadflow_shared.contracts.lead import ContactChannel
from leadflow_shared.lead_read_model import LeadRecord
from leadflow_shared.pagination import CursorPage


class Tracks(BaseModel):
    """The tracks in force, in matching order."""

    tracks: list[Track]


class Enrollment(BaseModel):
    """One lead on one track version."""

    id: UUID
    lead_id: UUID
    track: str
    track_version: int
    source: str
    status: str
    started_at: datetime
    engagement_points: int
    last_engaged_at: datetime | None
    touches_sent: int
    touches_skipped: int
    last_touch_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    exhausted_next: str | None
    next_track: str | None
    email: str | None = Field(default=None, description="the lead's email, in a list")
    company: str | None = Field(default=None, description="the lead's company, in a list")


EnrollmentSort = Literal[
    "enrolled",
    "-enrolled",
    "started_at",
    "-started_at",
    "engagement_points",
    "-engagement_points",
    "touches_sent",
    "-touches_sent",
]
"""How an enrollment list is sorted: `-` before a key sorts descending."""


class EnrollmentPage(CursorPage[Enrollment]):
    """One page of enrollments; pass next_cursor as cursor for the next (null: no more)."""


class Touch(BaseModel):
    """One step of an enrollment: sent, due, skipped, or failed (with the failure kind and its reason)."""

    enrollment_id: UUID
    step: int
    channel: str
    content_ref: str
    due_at: datetime
    status: str
    attempts: int
    done_at: datetime | None
    failure: str | None
    last_error: str | None


class Engagement(BaseModel):
    """Engagement points on the active track and on all of them."""

    points: int
    total_points: int
    last_engaged_at: datetime | None


class Archive(BaseModel):
    """Why and when a lead was archived, and when that was reversed."""

    lead_id: UUID
    reason: str
    explanation: str
    archived_at: datetime
    reversed_at: datetime | None


class Consent(BaseModel):
    """A lead's consent on one channel."""

    channel: str
    opted_in: bool
    reason: str
    changed_at: datetime


class LeadOverview(LeadRecord):
    """What nurture knows of a lead."""

    enrollments: list[Enrollment]
    touches_sent: list[Touch]
    touches_due: list[Touch]
    touches_skipped: list[Touch]
    touches_failed: list[Touch]
    engagement: Engagement
    archive: Archive | None
    consent: list[Consent]


class TrackKpis(BaseModel):
    """One track's counts and rates (rates are null while nobody was enrolled)."""

    track: str
    enrolled: int
    active: int
    touches_sent: int
    touches_skipped: int
    engaged: int
    requalified: int
    exhausted: int
    archived: int
    moved: int
    unsubscribed: int
    converted: int
    engagement_rate: float | None
    requalified_rate: float | None
    exhausted_rate: float | None


class TrackKpiList(BaseModel):
    """KPIs per track."""

    tracks: list[TrackKpis]


class ChannelConsent(BaseModel):
    """A lead's consent on one channel: opted in, out, or unknown (null), with its source, time and proof."""

    channel: ContactChannel
    opted_in: bool | None
    source: str | None
    reason: str | None
    proof: str | None
    changed_at: datetime | None


class Suppression(BaseModel):
    """Why and since when the lead's address is on the suppression list (it is never mailed)."""

    reason: str
    source: str
    suppressed_at: datetime


class LeadConsent(BaseModel):
    """A lead's consent on every channel, and its address's suppression if listed."""

    lead_id: UUID
    channels: list[ChannelConsent]
    suppression: Suppression | None


class ConsentUpdate(BaseModel):
    """A consent change made by a person or another system: channel, which way, who says so, the proof."""

    model_config = ConfigDict(extra="forbid")

    channel: ContactChannel
    opted_in: StrictBool
    source: Name
    proof: Annotated[Text, Field(min_length=1)]
    reason: Text | None = None


class UnsubscribeLink(BaseModel):
    """What a one-click unsubscribe link does when POSTed; a GET never unsubscribes (mail scanners fetch)."""

    channel: ContactChannel
    expires_at: datetime
    opted_out: bool
    detail: str


class Unsubscribed(BaseModel):
    """The opt-out a one-click unsubscribe recorded (or the one already in force)."""

    channel: ContactChannel
    opted_out: bool
    source: str
    changed_at: datetime
    detail: str
