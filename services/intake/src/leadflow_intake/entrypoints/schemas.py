"""What intake's HTTP routes answer, as typed models for the OpenAPI contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from leadflow_shared.bounds import Name
from leadflow_shared.pagination import CursorPage


class SubmissionAccepted(BaseModel):
    """A submission stored for processing."""

    submission_id: UUID
    status: Literal["accepted"]


class Touch(BaseModel):
    """One time a source brought the lead in."""

    channel: str
    source_system: str
    source_id: str | None
    campaign: dict[str, Any]
    occurred_at: datetime


class FieldChange(BaseModel):
    """One field's value before and after a correction."""

    from_: Any = Field(alias="from")
    to: Any


class CorrectionRecord(BaseModel):
    """A person's correction of a lead: who, why, when, and each changed field (by path)."""

    id: UUID
    actor: str
    reason: str
    changes: dict[str, FieldChange]
    corrected_at: datetime


class LeadDetail(BaseModel):
    """A lead's profile, every touch and every correction made by hand."""

    id: UUID
    profile: dict[str, Any]
    merged_into: UUID | None
    created_at: datetime
    updated_at: datetime
    touches: list[Touch]
    corrections: list[CorrectionRecord] = []


class LeadCorrected(BaseModel):
    """The profile after a correction, the fields it changed (empty: nothing changed, no event)."""

    id: UUID
    changed: list[str]
    profile: dict[str, Any]
    correction_id: UUID | None


class LeadSummary(BaseModel):
    """A live lead as listed."""

    id: UUID
    profile: dict[str, Any]
    created_at: datetime
    updated_at: datetime


LeadSort = Literal[
    "created_at", "-created_at", "updated_at", "-updated_at", "last_name", "-last_name", "company", "-company"
]
"""How a lead list is sorted: `-` before a key sorts descending."""


class LeadPage(CursorPage[LeadSummary]):
    """One page of leads; pass next_cursor as cursor for the next (null: no more)."""


class Rejection(BaseModel):
    """A submission kept in quarantine, with why."""

    id: UUID
    source_system: str
    reason: str
    problems: list[Any]
    payload: Any
    received_at: datetime


class RejectionPage(CursorPage[Rejection]):
    """One page of rejections."""


class ActivityAccepted(BaseModel):
    """An activity stored for processing, and the event that carries it."""

    status: Literal["accepted"]
    activity_id: str
    event_id: UUID


class Duplicate(BaseModel):
    """A possible duplicate pair with both profiles."""

    id: UUID
    lead_id: UUID
    candidate_id: UUID
    score: float
    reason: str
    status: str
    created_at: datetime
    decided_at: datetime | None
    lead_profile: dict[str, Any]
    candidate_profile: dict[str, Any]


class DuplicatePage(CursorPage[Duplicate]):
    """One page of duplicate pairs."""


class DuplicateDecision(BaseModel):
    """What became of a pair: merged (with the survivor and the folded lead) or dismissed."""

    id: UUID
    status: Literal["merged", "dismissed"]
    survivor: UUID | None
    merged: UUID | None


class LeadUnmerged(BaseModel):
    """Both leads of an undone merge, live again: the restored one and its former survivor."""

    id: UUID
    survivor: UUID
    profile: dict[str, Any]
    survivor_profile: dict[str, Any]


class ImportAccepted(BaseModel):
    """A stored upload waiting for the import job."""

    id: UUID
    status: Literal["pending"]


class RowError(BaseModel):
    """Why one CSV row was not submitted."""

    row_number: int
    message: str


class ImportStatus(BaseModel):
    """An import's progress, counts and one page of row errors (errors_cursor: the next errors_after)."""

    id: UUID
    filename: str
    channel: str
    campaign: dict[str, Any]
    status: str
    rows_total: int | None
    rows_done: int
    leads_submitted: int
    rows_failed: int
    error: str | None
    created_at: datetime
    updated_at: datetime
    progress: float
    leads_captured: int
    errors: list[RowError]
    errors_cursor: int | None


class SourceDay(BaseModel):
    """Touches and distinct leads of one UTC day, source, channel and campaign."""

    day: datetime
    source: str
    channel: str
    campaign: str | None
    touches: int
    leads: int


class SourceTotals(BaseModel):
    """The window's totals and rates."""

    touches: int
    new_leads: int
    merged_leads: int
    rejections: int
    duplicate_rate: float
    rejection_rate: float


class SourceKpis(BaseModel):
    """Source KPIs of the window [since, until)."""

    since: datetime
    until: datetime
    by_day: list[SourceDay]
    totals: SourceTotals


class ErasureRequestIn(BaseModel):
    """Whom to erase: an email address or a lead id (exactly one)."""

    model_config = ConfigDict(extra="forbid")

    email: Name | None = None
    lead_id: UUID | None = None


class ErasureAccepted(BaseModel):
    """An erasure request was taken; repeated says an earlier request already covered the person."""

    request_id: UUID
    repeated: bool


class ServiceErasure(BaseModel):
    """One service's part of an erasure."""

    service: str
    status: Literal["pending", "done"]
    done_at: datetime | None


class ErasureStatus(BaseModel):
    """An erasure request and each service's completion."""

    request_id: UUID
    status: Literal["pending", "done"]
    origin: str
    requested_at: datetime
    leads: int
    services: list[ServiceErasure]


class WebhookOk(BaseModel):
    """A delivery acknowledged with nothing to process (Mailchimp's check and empty POST)."""

    status: Literal["ok"]


class WebhookAccepted(BaseModel):
    """A vendor payload stored raw, to be processed through leads.submitted."""

    status: Literal["accepted"]
    received_id: UUID


class WebhookQuarantined(BaseModel):
    """A vendor payload kept in quarantine with its reason (GET /v1/rejections): nothing to send again."""

    status: Literal["quarantined"]
    received_id: UUID
    rejection_id: UUID


class LinkedInChallenge(BaseModel):
    """The reply to LinkedIn's challengeCode validation."""

    challengeCode: str
    challengeResponse: str


class ZoomUrlValidation(BaseModel):
    """The reply to Zoom's endpoint.url_validation."""

    plainToken: str
    encryptedToken: str


WebhookCheck = WebhookOk | LinkedInChallenge
"""What a vendor's GET subscription check is answered as JSON (Meta's hub.challenge is echoed as text)."""

WebhookAnswer = WebhookOk | WebhookAccepted | WebhookQuarantined | ZoomUrlValidation
"""What a vendor's POSTed delivery is answered."""
