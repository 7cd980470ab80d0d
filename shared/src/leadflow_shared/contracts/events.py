"""One immutable model per event type; the registry maps a CloudEvents type to its model and topic."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from leadflow_shared.contracts import topics
from leadflow_shared.contracts.lead import (
    ActivityType,
    Campaign,
    Channel,
    ContactChannel,
    JsonObject,
    LeadProfile,
    LeadSubmission,
    Text,
    Touch,
    TriggerKind,
)


class EventData(BaseModel):
    """The data of one event type; subclasses name their type and topic."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    topic: ClassVar[str]

    def subject(self) -> str | None:
        """The lead id the event is about, used as subject and Kafka key."""
        lead_id = getattr(self, "lead_id", None)
        return str(lead_id) if lead_id is not None else None

    def other_leads(self) -> tuple[str, ...]:
        """Leads besides the subject that the event changes, as keys (a merge changes the merged one)."""
        return ()


# upstream: leads.submitted, leads.activity


class LeadSubmitted(EventData):
    """An upstream system submitted a lead in the canonical format."""

    event_type: ClassVar[str] = "lead.submitted"
    topic: ClassVar[str] = topics.LEADS_SUBMITTED

    submission: LeadSubmission

    def subject(self) -> str | None:
        return self.submission.source_id


class RawLeadSubmitted(EventData):
    """A vendor's payload exactly as it sent it, with the source named."""

    event_type: ClassVar[str] = "lead.submitted.raw"
    topic: ClassVar[str] = topics.LEADS_SUBMITTED

    source: str
    payload: dict[str, Any]
    received_id: UUID | None = None

    def subject(self) -> str | None:
        return str(self.received_id) if self.received_id else None


class ActivityRecorded(EventData):
    """An upstream system saw a lead engage, or a trigger event happen."""

    event_type: ClassVar[str] = "activity.recorded"
    topic: ClassVar[str] = topics.LEADS_ACTIVITY

    activity_id: Text
    lead_id: UUID | None = None
    email: Text | None = None
    activity_type: ActivityType
    occurred_at: datetime
    trigger: TriggerKind | None = None
    source_system: Text = "api"
    details: JsonObject = Field(default_factory=dict)


# intake.events


class LeadCaptured(EventData):
    """A new person entered the pipeline."""

    event_type: ClassVar[str] = "lead.captured"
    topic: ClassVar[str] = topics.INTAKE_EVENTS

    lead_id: UUID
    profile: LeadProfile
    touch: Touch


class LeadUpdated(EventData):
    """A known person was seen again; the profile may have new fields."""

    event_type: ClassVar[str] = "lead.updated"
    topic: ClassVar[str] = topics.INTAKE_EVENTS

    lead_id: UUID
    profile: LeadProfile
    touch: Touch
    changed: list[str] = Field(
        default_factory=list,
        description="the profile fields this submission changed, by path (`country`, `answers.budget`,"
        " `consent.email`, `custom_fields.<key>`); empty when it only adds a touch",
    )


class LeadMerged(EventData):
    """Two leads turned out to be one person; the merged one folds into the survivor."""

    event_type: ClassVar[str] = "lead.merged"
    topic: ClassVar[str] = topics.INTAKE_EVENTS

    lead_id: UUID = Field(description="the survivor")
    merged_id: UUID
    profile: LeadProfile

    def other_leads(self) -> tuple[str, ...]:
        return (str(self.merged_id),)


class LeadUnmerged(EventData):
    """A merge was undone: the merged lead is live again with its own profile and touches, apart from the
    survivor, whose profile loses what the merge brought it."""

    event_type: ClassVar[str] = "lead.unmerged"
    topic: ClassVar[str] = topics.INTAKE_EVENTS

    lead_id: UUID = Field(description="the restored lead, merged before")
    survivor_id: UUID = Field(description="the lead it had been merged into")
    profile: LeadProfile = Field(description="the restored lead's profile")
    survivor_profile: LeadProfile
    activity_ids: list[str] = Field(
        default_factory=list, description="the activities (`lead.engaged` activity_id) that go back with it"
    )
    actor: str
    reason: str

    def other_leads(self) -> tuple[str, ...]:
        return (str(self.survivor_id),)


class LeadEngaged(EventData):
    """A lead engaged (email, page, webinar, demo, ...) or a trigger event happened."""

    event_type: ClassVar[str] = "lead.engaged"
    topic: ClassVar[str] = topics.INTAKE_EVENTS

    lead_id: UUID
    activity_id: str
    activity_type: ActivityType
    occurred_at: datetime
    trigger: TriggerKind | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class LeadConsentChanged(EventData):
    """A lead opted in or out of a contact channel."""

    event_type: ClassVar[str] = "lead.consent_changed"
    topic: ClassVar[str] = topics.INTAKE_EVENTS

    lead_id: UUID
    channel: ContactChannel
    opted_in: bool
    reason: str


class PersonErasureRequested(EventData):
    """A person asked to be forgotten: every service erases these leads' personal data and confirms.

    It names the person only by lead ids and the email's hash, since the event itself is kept in Kafka.
    """

    event_type: ClassVar[str] = "person.erasure_requested"
    topic: ClassVar[str] = topics.INTAKE_ERASURES

    request_id: UUID
    lead_ids: list[UUID] = Field(max_length=10_000)
    email_hash: str | None = Field(
        default=None, description="leadflow_shared.privacy.email_hash of the email"
    )

    def subject(self) -> str | None:
        return str(self.lead_ids[0]) if self.lead_ids else str(self.request_id)

    def other_leads(self) -> tuple[str, ...]:
        return tuple(str(lead_id) for lead_id in self.lead_ids[1:])


class PersonErased(EventData):
    """A service erased a person's data in its own schema (the base of each service's confirmation)."""

    request_id: UUID
    service: str

    def subject(self) -> str | None:
        return str(self.request_id)


class IntakePersonErased(PersonErased):
    """Intake erased a person's data in its schema."""

    event_type: ClassVar[str] = "intake.person_erased"
    topic: ClassVar[str] = topics.INTAKE_ERASURES


# qualification.events


class LeadStatusChanged(EventData):
    """A lead's status changed, by a rule or by a person."""

    event_type: ClassVar[str] = "lead.status_changed"
    topic: ClassVar[str] = topics.QUALIFICATION_EVENTS

    lead_id: UUID
    from_status: str | None
    to_status: str
    category: str
    reason: str
    actor: str
    reason_code: str | None = Field(
        default=None, description="the machine-readable reason, e.g. a disqualification reason"
    )


class QualificationPersonErased(PersonErased):
    """Qualification erased a person's data in its schema."""

    event_type: ClassVar[str] = "qualification.person_erased"
    topic: ClassVar[str] = topics.QUALIFICATION_ERASURES


class LeadAssigned(EventData):
    """A lead got an owner."""

    event_type: ClassVar[str] = "lead.assigned"
    topic: ClassVar[str] = topics.QUALIFICATION_EVENTS

    lead_id: UUID
    owner: str
    team: str | None = None


class LeadQualified(EventData):
    """A lead is ready to convert, with what opportunity needs to judge it."""

    event_type: ClassVar[str] = "lead.qualified"
    topic: ClassVar[str] = topics.QUALIFICATION_EVENTS

    lead_id: UUID
    profile: LeadProfile
    fit_score: float
    engagement_score: float
    budget_amount: Decimal | None = None
    budget_confirmed: bool = False
    authority: bool = False
    need: bool = False
    timeline_days: int | None = None
    channel: Channel | None = None
    source_system: str | None = None
    campaign: Campaign = Campaign()
    owner: str | None = None
    criteria_version: int
    manual: bool = False


class DisqualificationReason(StrEnum):
    """Why a lead is not worth pursuing now."""

    NO_NEED = "no_need"
    NO_AUTHORITY = "no_authority"
    NO_BUDGET = "no_budget"
    NOT_ICP = "not_icp"
    UNRESPONSIVE = "unresponsive"
    INVALID = "invalid"


class LeadDisqualified(EventData):
    """A lead is not qualified now; nurturable says whether nurture should take it."""

    event_type: ClassVar[str] = "lead.disqualified"
    topic: ClassVar[str] = topics.QUALIFICATION_EVENTS

    lead_id: UUID
    reason: DisqualificationReason
    nurturable: bool
    profile: LeadProfile
    fit_score: float
    engagement_score: float
    criteria_version: int | None = None
    manual: bool = False


# opportunity.events


class LeadConverted(EventData):
    """A qualified lead became a contact of an account."""

    event_type: ClassVar[str] = "lead.converted"
    topic: ClassVar[str] = topics.OPPORTUNITY_EVENTS

    lead_id: UUID
    account_id: UUID
    contact_id: UUID


class OpportunityPersonErased(PersonErased):
    """Opportunity erased a person's data in its schema."""

    event_type: ClassVar[str] = "opportunity.person_erased"
    topic: ClassVar[str] = topics.OPPORTUNITY_ERASURES


class OpportunityOpened(EventData):
    """The opportunity criteria held: a deal is in the pipeline."""

    event_type: ClassVar[str] = "opportunity.opened"
    topic: ClassVar[str] = topics.OPPORTUNITY_EVENTS

    opportunity_id: UUID
    lead_id: UUID
    account_id: UUID
    contact_id: UUID
    name: str
    amount: Decimal
    close_date: date
    stage: str
    source_system: str | None = None
    campaign: Campaign = Campaign()


class OpportunityStageChanged(EventData):
    """An opportunity moved to another stage."""

    event_type: ClassVar[str] = "opportunity.stage_changed"
    topic: ClassVar[str] = topics.OPPORTUNITY_EVENTS

    opportunity_id: UUID
    lead_id: UUID
    from_stage: str
    to_stage: str
    probability: float
    forecast_category: str
    amount: Decimal


class OpportunityWon(EventData):
    """An opportunity closed won."""

    event_type: ClassVar[str] = "opportunity.won"
    topic: ClassVar[str] = topics.OPPORTUNITY_EVENTS

    opportunity_id: UUID
    lead_id: UUID
    contact_id: UUID
    amount: Decimal


class OpportunityLost(EventData):
    """An opportunity closed lost; nurture takes the contact's lead to win-back."""

    event_type: ClassVar[str] = "opportunity.lost"
    topic: ClassVar[str] = topics.OPPORTUNITY_EVENTS

    opportunity_id: UUID
    lead_id: UUID
    contact_id: UUID
    amount: Decimal
    lost_reason: str


class OpportunityUpdated(EventData):
    """An opportunity's amount or close date changed (with a stage move or without one)."""

    event_type: ClassVar[str] = "opportunity.updated"
    topic: ClassVar[str] = topics.OPPORTUNITY_EVENTS

    opportunity_id: UUID
    lead_id: UUID
    changed: list[str] = Field(description="the fields that changed: `amount`, `close_date`")
    amount: Decimal
    close_date: date
    previous_amount: Decimal | None = None
    previous_close_date: date | None = None
    stage: str


# nurture.events


class NurtureEnrolled(EventData):
    """A lead was put on a nurture track."""

    event_type: ClassVar[str] = "nurture.enrolled"
    topic: ClassVar[str] = topics.NURTURE_EVENTS

    lead_id: UUID
    track: str
    track_version: int
    enrollment_id: UUID


class NurturePersonErased(PersonErased):
    """Nurture erased a person's data in its schema (its suppression list of email hashes stays)."""

    event_type: ClassVar[str] = "nurture.person_erased"
    topic: ClassVar[str] = topics.NURTURE_ERASURES


class NurtureTouchSent(EventData):
    """One step of a track reached the lead."""

    event_type: ClassVar[str] = "nurture.touch_sent"
    topic: ClassVar[str] = topics.NURTURE_EVENTS

    lead_id: UUID
    enrollment_id: UUID
    step: int
    channel: str
    content_ref: str | None = None


class LeadRequalificationRequested(EventData):
    """A nurtured lead engaged enough, or a trigger arrived: qualification should judge it again."""

    event_type: ClassVar[str] = "lead.requalification_requested"
    topic: ClassVar[str] = topics.NURTURE_EVENTS

    lead_id: UUID
    reason: str
    trigger: TriggerKind | None = None
    enrollment_id: UUID | None = None
    actor: str | None = Field(
        default=None,
        description="the person who asked (an archive reversed by hand): the lead reopens as their decision,"
        " an override automatic judgements do not undo",
    )


class NurtureConsentRecorded(EventData):
    """Nurture, the owner of consent, recorded a lead's opt-in or opt-out on one channel."""

    event_type: ClassVar[str] = "nurture.consent_recorded"
    topic: ClassVar[str] = topics.NURTURE_EVENTS

    lead_id: UUID
    channel: ContactChannel
    opted_in: bool
    source: str
    reason: str
    recorded_at: datetime


class ExhaustedNext(StrEnum):
    """What follows a track that ended without engagement."""

    ARCHIVE = "archive"
    MOVE = "move"


class NurtureExhausted(EventData):
    """A track ended without enough engagement."""

    event_type: ClassVar[str] = "nurture.exhausted"
    topic: ClassVar[str] = topics.NURTURE_EVENTS

    lead_id: UUID
    track: str
    enrollment_id: UUID
    next: ExhaustedNext
    next_track: str | None = None


EVENT_MODELS: tuple[type[EventData], ...] = (
    LeadSubmitted,
    RawLeadSubmitted,
    ActivityRecorded,
    LeadCaptured,
    LeadUpdated,
    LeadMerged,
    LeadUnmerged,
    LeadEngaged,
    LeadConsentChanged,
    LeadStatusChanged,
    LeadAssigned,
    LeadQualified,
    LeadDisqualified,
    LeadConverted,
    OpportunityOpened,
    OpportunityStageChanged,
    OpportunityWon,
    OpportunityLost,
    OpportunityUpdated,
    NurtureEnrolled,
    NurtureTouchSent,
    LeadRequalificationRequested,
    NurtureExhausted,
    NurtureConsentRecorded,
    PersonErasureRequested,
    IntakePersonErased,
    QualificationPersonErased,
    OpportunityPersonErased,
    NurturePersonErased,
)

ERASURE_CONFIRMATIONS: dict[str, type[PersonErased]] = {
    model.event_type: model
    for model in (IntakePersonErased, QualificationPersonErased, OpportunityPersonErased, NurturePersonErased)
}
"""Each service's confirmation of an erasure, by event type."""

EVENT_TYPES: dict[str, type[EventData]] = {model.event_type: model for model in EVENT_MODELS}
