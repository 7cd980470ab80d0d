"""The canonical lead: what a submission carries and what intake makes of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from leadflow_shared.contracts.storable import storable_json, storable_text

Text = Annotated[str, AfterValidator(storable_text)]
"""A string PostgreSQL text can hold: no NUL, no lone surrogate."""
JsonObject = Annotated[dict[str, Any], AfterValidator(storable_json)]
"""A JSON object jsonb can hold and every service can read back: see storable.json_problem."""


class Channel(StrEnum):
    """How the lead reached us."""

    WEB_FORM = "web_form"
    PAID_ADS = "paid_ads"
    CONTENT_DOWNLOAD = "content_download"
    WEBINAR = "webinar"
    SOCIAL = "social"
    REFERRAL = "referral"
    WEBSITE = "website"
    TRADE_SHOW = "trade_show"
    EMAIL = "email"
    IMPORT = "import"
    API = "api"
    SALES = "sales"


class ContactChannel(StrEnum):
    """A channel a lead may consent to be contacted on."""

    EMAIL = "email"
    PHONE = "phone"
    SMS = "sms"


class ActivityType(StrEnum):
    """Engagement and trigger events recorded against a lead."""

    EMAIL_OPENED = "email_opened"
    EMAIL_CLICKED = "email_clicked"
    PAGE_VISITED = "page_visited"
    PRICING_PAGE_VISITED = "pricing_page_visited"
    CONTENT_DOWNLOADED = "content_downloaded"
    WEBINAR_REGISTERED = "webinar_registered"
    WEBINAR_ATTENDED = "webinar_attended"
    DEMO_REQUESTED = "demo_requested"
    MEETING_HELD = "meeting_held"
    CALL_LOGGED = "call_logged"
    FORM_SUBMITTED = "form_submitted"
    TRIGGER = "trigger"


class TriggerKind(StrEnum):
    """A change in a lead's situation that is worth qualifying again."""

    BUDGET_APPROVED = "budget_approved"
    FUNDING_ROUND = "funding_round"
    NEW_ROLE = "new_role"
    COMPANY_GROWTH = "company_growth"
    PROJECT_STARTED = "project_started"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Campaign(_Model):
    """Attribution: UTM parameters and the ad platform's own ids."""

    utm_source: Text | None = None
    utm_medium: Text | None = None
    utm_campaign: Text | None = None
    utm_term: Text | None = None
    utm_content: Text | None = None
    campaign_id: Text | None = None
    campaign_name: Text | None = None
    adgroup_id: Text | None = None
    ad_id: Text | None = None
    form_id: Text | None = None


class QualifyingAnswers(_Model):
    """Budget, authority, need and timeline as the form (or sales) gave them, raw."""

    budget: Text | None = None
    authority: Text | None = None
    need: Text | None = None
    timeline: Text | None = None


class Consent(_Model):
    """Opt-in (True), opt-out (False) or unknown (None) per contact channel."""

    email: bool | None = None
    phone: bool | None = None
    sms: bool | None = None


class LeadSubmission(_Model):
    """A lead as an upstream system submits it, before normalisation."""

    first_name: Text | None = None
    last_name: Text | None = None
    full_name: Text | None = None
    email: Text | None = None
    phone: Text | None = None
    company: Text | None = None
    website: Text | None = None
    job_title: Text | None = None
    country: Text | None = None
    industry: Text | None = None
    company_size: Annotated[int, AfterValidator(storable_json)] | None = Field(default=None, ge=0)
    consent: Consent = Consent()
    answers: QualifyingAnswers = QualifyingAnswers()
    channel: Channel = Channel.API
    source_system: Text = "api"
    source_id: Text | None = None
    campaign: Campaign = Campaign()
    custom_fields: JsonObject = Field(default_factory=dict)
    is_test: bool = False
    submitted_at: datetime | None = None


class LeadProfile(_Model):
    """The normalised profile intake keeps for one person."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    company_domain: str | None = None
    website: str | None = None
    job_title: str | None = None
    seniority: str | None = None
    country: str | None = None
    industry: str | None = None
    company_size: int | None = None
    consent: Consent = Consent()
    answers: QualifyingAnswers = QualifyingAnswers()
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    is_test: bool = False


class Touch(_Model):
    """One time a lead reached us: where from, which campaign, when."""

    channel: Channel
    source_system: str
    source_id: str | None = None
    campaign: Campaign = Campaign()
    occurred_at: datetime
