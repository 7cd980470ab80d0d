"""What qualification's HTTP routes answer, as typed models for the OpenAPI contract."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from leadflow_qualification.domain.assignment import AssignmentPolicy
from leadflow_qualification.domain.criteria import Criteria
from leadflow_qualification.domain.funnel import FunnelReport
from leadflow_qualification.domain.simulation import SimulationScope, StatusChange
from leadflow_qualification.domain.staleness import CategoryLimit
from leadflow_qualification.domain.statuses import LeadStatus
from leadflow_shared.pagination import CursorPage


class HistoryEntry(BaseModel):
    """One status change of a lead."""

    from_status: str | None
    to_status: str
    category: str
    reason: str
    reason_code: str | None
    actor: str
    at: datetime


class LeadView(BaseModel):
    """A lead's status, scores, latest decision with its reasons, and history."""

    id: UUID
    status: str
    category: str
    profile: dict[str, Any]
    touch: dict[str, Any] | None
    owner: str | None
    team: str | None
    fit_score: float | None
    engagement_score: float | None
    criteria_version: int | None
    decision: dict[str, Any] | None
    sales_input: dict[str, Any]
    manual_override: bool
    disqualification_reason: str | None
    stale: bool
    stale_since: datetime | None
    merged_into: UUID | None
    status_since: datetime
    last_progress_at: datetime
    created_at: datetime
    updated_at: datetime
    history: list[HistoryEntry]


class LeadSummary(BaseModel):
    """A lead as listed."""

    id: UUID
    status: str
    category: str
    owner: str | None
    team: str | None
    fit_score: float | None
    engagement_score: float | None
    stale: bool
    stale_since: datetime | None
    disqualification_reason: str | None
    status_since: datetime
    email: str | None
    company: str | None
    first_name: str | None = None
    last_name: str | None = None
    created_at: datetime | None = None


LeadSort = Literal[
    "id",
    "-id",
    "status_since",
    "-status_since",
    "created_at",
    "-created_at",
    "fit_score",
    "-fit_score",
    "engagement_score",
    "-engagement_score",
]
"""How a lead list is sorted: `-` before a key sorts descending."""


class LeadPage(CursorPage[LeadSummary]):
    """One page of leads; pass next_cursor as cursor for the next (null: no more)."""


class Reapplied(BaseModel):
    """Leads judged again under new criteria, and how many changed status."""

    evaluated: int
    changed: int


class CriteriaStored(BaseModel):
    """The stored criteria version, and what applying it changed (null: not applied)."""

    criteria: Criteria
    applied: Reapplied | None


class Simulation(BaseModel):
    """What a proposed criteria version would change; truncated when max_leads stopped it."""

    criteria_version: int
    scope: SimulationScope
    evaluated: int
    out_of_scope: int
    unchanged: int
    changes: list[StatusChange]
    changed: int
    truncated: bool


class CatalogStatus(LeadStatus):
    """A status and the statuses it may move to."""

    allowed_targets: list[str]


class Statuses(BaseModel):
    """The status catalog in force."""

    version: int
    statuses: list[CatalogStatus]


class Assignment(BaseModel):
    """The owner-assignment policy in force (null: leads stay unassigned)."""

    version: int
    policy: AssignmentPolicy | None


class Staleness(BaseModel):
    """The staleness limits in force, per base category."""

    version: int
    limits: dict[str, CategoryLimit]


class SweepDone(BaseModel):
    """Leads one sweep flagged stale and disqualified as unresponsive."""

    flagged: int
    unresponsive: int


class Funnel(BaseModel):
    """Funnel KPIs of [from, to): one report, or with `by` a report per group."""

    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    report: FunnelReport | None = None
    by: str | None = None
    groups: dict[str, FunnelReport] | None = None
