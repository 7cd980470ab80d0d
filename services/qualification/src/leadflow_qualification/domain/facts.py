"""What qualification knows about a lead: intake's profile and touches, activities, and sales' own input."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from leadflow_shared.contracts.lead import ActivityType, LeadProfile, Touch, TriggerKind


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LeadFacts(_Frozen):
    """Intake's canonical profile of one lead and every touch that brought it in."""

    profile: LeadProfile
    touches: tuple[Touch, ...] = ()


class Activity(_Frozen):
    """One engagement or trigger event recorded against a lead."""

    activity_type: ActivityType
    occurred_at: datetime
    trigger: TriggerKind | None = None


class SalesInput(_Frozen):
    """What a salesperson learned talking to the lead; each field set here overrides what the form implied."""

    need: bool | None = None
    authority: bool | None = None
    budget: bool | None = None
    budget_amount: Decimal | None = None
    timeline_days: int | None = None
    note: str = ""
