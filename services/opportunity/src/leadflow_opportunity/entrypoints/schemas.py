"""What opportunity's HTTP routes answer, as typed models for the OpenAPI contract."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from leadflow_opportunity.domain.stages import OpportunityState
from leadflow_shared.lead_read_model import LeadRecord
from leadflow_shared.pagination import CursorPage


class Opportunity(BaseModel):
    """An opportunity as stored."""

    id: UUID
    lead_id: UUID
    account_id: UUID
    contact_id: UUID
    name: str
    stage: str
    probability: float
    forecast_category: str
    amount: Decimal
    amount_basis: str
    close_date: date
    owner: str | None
    source_system: str | None
    campaign: dict[str, Any]
    campaign_key: str | None
    criteria_version: int
    stage_set_version: int
    is_closed: bool
    is_won: bool
    lost_reason: str | None
    opened_at: datetime
    closed_at: datetime | None
    updated_at: datetime


class StageHistoryEntry(BaseModel):
    """One stage move and what it changed."""

    from_stage: str | None
    to_stage: str
    probability: float
    forecast_category: str
    amount: Decimal
    close_date: date
    lost_reason: str | None
    changed: list[str]
    actor: str
    at: datetime


class OpportunityDetail(Opportunity):
    """An opportunity with its stage history, oldest first."""

    history: list[StageHistoryEntry]


class OpportunityPage(CursorPage[Opportunity]):
    """One page of opportunities; pass next_cursor as cursor for the next (null: no more)."""


class Contact(BaseModel):
    """A contact with its account's name, signals and last criteria check."""

    id: UUID
    account_id: UUID
    email_key: str | None
    lead_id: UUID
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    job_title: str | None
    owner: str | None
    source_system: str | None
    campaign: dict[str, Any]
    campaign_key: str | None
    signals: dict[str, Any]
    criteria_check: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    account_name: str


class ConvertedLead(BaseModel):
    """A lead converted into the contact."""

    lead_id: UUID
    converted_at: datetime


class ContactDetail(Contact):
    """A contact with its converted leads and opportunities."""

    leads: list[ConvertedLead]
    opportunities: list[Opportunity]


class AccountDetail(BaseModel):
    """An account with its contacts and opportunities."""

    id: UUID
    name: str
    domain: str | None
    name_key: str | None
    created_at: datetime
    contacts: list[Contact]
    opportunities: list[Opportunity]


class ConditionCheck(BaseModel):
    """One criterion: the value seen, what it needs, and whether it held."""

    condition: str
    value: bool | str | None
    required: str
    held: bool


class CriteriaCheck(BaseModel):
    """The opportunity criteria checked against a contact's signals."""

    criteria_version: int
    met: bool
    unmet: list[str]
    conditions: list[ConditionCheck]


class SignalsRecorded(BaseModel):
    """The contact's criteria check after the signals, and the opportunity opened (null: none)."""

    contact_id: UUID
    account_id: UUID
    opportunity_id: UUID | None
    criteria: CriteriaCheck


class StageMoved(OpportunityState):
    """The opportunity after the move, and which fields changed."""

    changed: list[str]


class StageTotals(BaseModel):
    """Open opportunities at one stage."""

    stage: str
    count: int
    amount: Decimal
    weighted_amount: Decimal


class Pipeline(BaseModel):
    """The pipeline per stage under the stage set in force."""

    stage_set_version: int
    stages: list[StageTotals]


class ForecastCell(BaseModel):
    """Opportunities closing in one period, in one forecast category."""

    period: str
    category: str
    count: int
    amount: Decimal
    weighted_amount: Decimal


class Forecast(BaseModel):
    """Opportunities per close period and forecast category."""

    period: str
    cells: list[ForecastCell]


class Kpis(BaseModel):
    """Conversion and win figures of one source or campaign (or of all: key 'all')."""

    key: str
    leads_converted: int
    opportunities_opened: int
    lead_to_opportunity_rate: Decimal | None
    won: int
    lost: int
    win_rate: Decimal | None
    average_won_amount: Decimal | None
    median_sales_cycle_days: Decimal | None


class KpiReport(BaseModel):
    """KPIs per group and overall."""

    by: str
    groups: list[Kpis]
    overall: Kpis


# browsing: `name` sorts ascending, `-name` descending

AccountSort = Literal["name", "-name", "created_at", "-created_at"]
ContactSort = Literal["last_name", "-last_name", "account", "-account", "created_at", "-created_at"]
OpportunitySort = Literal[
    "close_date", "-close_date", "amount", "-amount", "opened_at", "-opened_at", "name", "-name"
]


class AccountSummary(BaseModel):
    """An account in a list, with its number of contacts and open opportunities."""

    id: UUID
    name: str
    domain: str | None
    contacts: int
    open_opportunities: int
    created_at: datetime


class AccountPage(CursorPage[AccountSummary]):
    """A page of accounts; pass next_cursor as cursor for the next."""


class ContactPage(CursorPage[Contact]):
    """A page of contacts; pass next_cursor as cursor for the next."""


class LeadOverview(LeadRecord):
    """What opportunity knows of a lead and, once converted, the account, contact and deals it became."""

    account_id: UUID | None = None
    contact_id: UUID | None = None
    converted_at: datetime | None = None
    opportunity_id: UUID | None = Field(default=None, description="the most recently opened opportunity")
    opportunity_ids: list[UUID] = Field(default_factory=list, description="every opportunity, newest first")
