"""Configurable opportunity stages and the rules for moving an opportunity between them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadflow_opportunity.domain.config import ConfigModel
from leadflow_shared.bounds import MAX_INT, MAX_ITEMS, Name, Names


class ForecastCategory(StrEnum):
    """How an opportunity at a stage counts in the forecast."""

    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    CLOSED = "closed"
    OMITTED = "omitted"


class Stage(ConfigModel):
    """One stage: its place in the order, default win probability (0-1) and forecast category."""

    name: Name
    order: int = Field(ge=-MAX_INT, le=MAX_INT)
    probability: float
    forecast_category: ForecastCategory
    is_closed: bool = False
    is_won: bool = False

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("stage name must not be blank")
        return name.strip()

    @model_validator(mode="after")
    def _stage_is_consistent(self) -> Stage:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"stage {self.name!r} probability must be within 0-1, got {self.probability}")
        if self.is_won and not self.is_closed:
            raise ValueError(f"stage {self.name!r} is won but not closed: a won stage is a closed stage")
        if self.is_closed and self.is_won:
            if self.probability != 1.0 or self.forecast_category is not ForecastCategory.CLOSED:
                raise ValueError(
                    f"closed won stage {self.name!r} needs probability 1 and forecast category closed"
                )
        elif self.is_closed:
            if self.probability != 0.0 or self.forecast_category is not ForecastCategory.OMITTED:
                raise ValueError(
                    f"closed lost stage {self.name!r} needs probability 0 and forecast category omitted"
                )
        elif self.forecast_category is ForecastCategory.CLOSED:
            raise ValueError(f"open stage {self.name!r} cannot have forecast category closed")
        return self


class StageSet(ConfigModel):
    """One version of the organisation's stages: unique names, one closed won, one closed lost."""

    version: int = Field(default=1, ge=1)
    stages: tuple[Stage, ...] = Field(max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _stages_are_sound(self) -> StageSet:
        names = Counter(stage.name for stage in self.stages)
        duplicates = sorted(name for name, count in names.items() if count > 1)
        if duplicates:
            raise ValueError(f"stage names must be unique; repeated: {', '.join(duplicates)}")
        orders = Counter(stage.order for stage in self.stages)
        repeated = sorted(order for order, count in orders.items() if count > 1)
        if repeated:
            raise ValueError(f"stage orders must be unique; repeated: {', '.join(map(str, repeated))}")
        won = [stage.name for stage in self.stages if stage.is_closed and stage.is_won]
        lost = [stage.name for stage in self.stages if stage.is_closed and not stage.is_won]
        if len(won) != 1:
            raise ValueError(f"exactly one closed won stage is needed, found {len(won)}: {won}")
        if len(lost) != 1:
            raise ValueError(f"exactly one closed lost stage is needed, found {len(lost)}: {lost}")
        if not any(not stage.is_closed for stage in self.stages):
            raise ValueError("at least one open stage is needed")
        return self

    def get(self, name: str) -> Stage | None:
        """The stage of that name, or None."""
        return next((stage for stage in self.stages if stage.name == name), None)

    def ordered(self) -> tuple[Stage, ...]:
        """The stages by their order."""
        return tuple(sorted(self.stages, key=lambda stage: stage.order))

    @property
    def opening(self) -> Stage:
        """The first open stage: where a new opportunity starts."""
        return next(stage for stage in self.ordered() if not stage.is_closed)

    @property
    def won(self) -> Stage:
        """The closed won stage."""
        return next(stage for stage in self.stages if stage.is_closed and stage.is_won)

    @property
    def lost(self) -> Stage:
        """The closed lost stage."""
        return next(stage for stage in self.stages if stage.is_closed and not stage.is_won)


DEFAULT_STAGES = StageSet(
    version=1,
    stages=(
        Stage(name="prospecting", order=10, probability=0.1, forecast_category=ForecastCategory.PIPELINE),
        Stage(name="qualification", order=20, probability=0.2, forecast_category=ForecastCategory.PIPELINE),
        Stage(name="needs_analysis", order=30, probability=0.4, forecast_category=ForecastCategory.PIPELINE),
        Stage(name="proposal", order=40, probability=0.6, forecast_category=ForecastCategory.BEST_CASE),
        Stage(name="negotiation", order=50, probability=0.8, forecast_category=ForecastCategory.COMMIT),
        Stage(
            name="closed_won",
            order=60,
            probability=1.0,
            forecast_category=ForecastCategory.CLOSED,
            is_closed=True,
            is_won=True,
        ),
        Stage(
            name="closed_lost",
            order=70,
            probability=0.0,
            forecast_category=ForecastCategory.OMITTED,
            is_closed=True,
        ),
    ),
)


class LostReasons(ConfigModel):
    """One version of the reasons a person may give for closing an opportunity lost."""

    version: int = Field(default=1, ge=1)
    reasons: Names

    @field_validator("reasons")
    @classmethod
    def _reasons_are_sound(cls, reasons: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(reason.strip() for reason in reasons)
        if not cleaned:
            raise ValueError("at least one lost reason is needed")
        if any(not reason for reason in cleaned):
            raise ValueError("lost reasons must not be blank")
        repeated = sorted(reason for reason, count in Counter(cleaned).items() if count > 1)
        if repeated:
            raise ValueError(f"lost reasons must be unique; repeated: {', '.join(repeated)}")
        return cleaned


DEFAULT_LOST_REASONS = LostReasons(
    reasons=("price", "competitor", "no_budget", "no_decision", "timing", "product_fit", "unresponsive")
)


class OpportunityState(BaseModel):
    """An opportunity as the stage rules and the forecast see it."""

    model_config = ConfigDict(frozen=True)

    opportunity_id: UUID
    lead_id: UUID
    account_id: UUID
    contact_id: UUID
    name: str
    stage: str
    probability: float
    forecast_category: ForecastCategory
    amount: Decimal
    close_date: date
    opened_at: datetime
    closed_at: datetime | None = None
    is_closed: bool = False
    is_won: bool = False
    lost_reason: str | None = None
    source_system: str | None = None
    campaign: str | None = None


def open_opportunity(
    *,
    opportunity_id: UUID,
    lead_id: UUID,
    account_id: UUID,
    contact_id: UUID,
    name: str,
    amount: Decimal,
    close_date: date,
    stages: StageSet,
    opened_at: datetime,
    source_system: str | None = None,
    campaign: str | None = None,
) -> OpportunityState:
    """A new opportunity at the stage set's opening stage, with that stage's probability."""
    stage = stages.opening
    return OpportunityState(
        opportunity_id=opportunity_id,
        lead_id=lead_id,
        account_id=account_id,
        contact_id=contact_id,
        name=name,
        stage=stage.name,
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        amount=amount,
        close_date=close_date,
        opened_at=opened_at,
        source_system=source_system,
        campaign=campaign,
    )


class MoveRefused(Exception):
    """A stage move the rules do not allow; the message says why."""


class StageConflict(MoveRefused):
    """The opportunity is closed and moves no more (HTTP 409)."""


class UnknownStage(MoveRefused):
    """The target stage is not one of the configured stages (HTTP 422)."""


class InvalidMove(MoveRefused):
    """The move's details are wrong: missing or unknown lost reason, bad amount or probability (HTTP 422)."""


TRACKED_FIELDS: tuple[str, ...] = (
    "stage",
    "probability",
    "forecast_category",
    "amount",
    "close_date",
    "lost_reason",
)


@dataclass(frozen=True)
class StageMove:
    """The outcome of a move: the state before and after, what changed, and when."""

    previous: OpportunityState
    state: OpportunityState
    changed: tuple[str, ...]
    at: datetime

    @property
    def from_stage(self) -> str:
        """The stage before the move."""
        return self.previous.stage

    @property
    def to_stage(self) -> str:
        """The stage after the move."""
        return self.state.stage

    @property
    def stage_changed(self) -> bool:
        """True when the stage itself changed (a stage history row and opportunity.stage_changed)."""
        return "stage" in self.changed

    @property
    def won(self) -> bool:
        """True when this move closed the opportunity won (opportunity.won)."""
        return self.stage_changed and self.state.is_won

    @property
    def lost(self) -> bool:
        """True when this move closed the opportunity lost (opportunity.lost)."""
        return self.stage_changed and self.state.is_closed and not self.state.is_won

    @property
    def is_noop(self) -> bool:
        """True when nothing changed."""
        return not self.changed


def _validate_details(
    target: Stage,
    lost_reasons: LostReasons,
    lost_reason: str | None,
    amount: Decimal | None,
    probability: float | None,
) -> str | None:
    if amount is not None and amount < 0:
        raise InvalidMove(f"amount must not be negative, got {amount}")
    if probability is not None:
        if not 0.0 <= probability <= 1.0:
            raise InvalidMove(f"probability must be within 0-1, got {probability}")
        if target.is_closed:
            raise InvalidMove(
                f"closed stage {target.name!r} has a fixed probability of {target.probability:g}"
            )
    allowed = ", ".join(lost_reasons.reasons)
    if target.is_closed and not target.is_won:
        reason = (lost_reason or "").strip()
        if not reason:
            raise InvalidMove(f"closing lost needs a lost reason, one of: {allowed}")
        if reason not in lost_reasons.reasons:
            raise InvalidMove(f"unknown lost reason {reason!r}; one of: {allowed}")
        return reason
    if lost_reason is not None:
        raise InvalidMove(f"a lost reason goes only with closing lost, not with a move to {target.name!r}")
    return None


def move(
    opportunity_state: OpportunityState,
    target_stage: str,
    stages: StageSet,
    lost_reasons: LostReasons,
    lost_reason: str | None = None,
    amount: Decimal | None = None,
    close_date: date | None = None,
    probability: float | None = None,
    *,
    at: datetime,
) -> StageMove:
    """Move an open opportunity to a stage (or update it in place), refusing what the rules forbid.

    The new stage's default probability applies unless one is given; closing sets the close date to the
    day of the move unless one is given.
    """
    state = opportunity_state
    if state.is_closed:
        raise StageConflict(
            f"opportunity {state.opportunity_id} is closed at {state.stage!r} and moves no more"
        )
    target = stages.get(target_stage)
    if target is None:
        known = ", ".join(stage.name for stage in stages.ordered())
        raise UnknownStage(f"unknown stage {target_stage!r}; stages: {known}")
    reason = _validate_details(target, lost_reasons, lost_reason, amount, probability)
    stage_changes = target.name != state.stage
    if probability is None:
        probability = target.probability if stage_changes else state.probability
    if close_date is None:
        close_date = at.date() if target.is_closed else state.close_date
    new_state = state.model_copy(
        update={
            "stage": target.name,
            "probability": probability,
            "forecast_category": target.forecast_category,
            "amount": state.amount if amount is None else amount,
            "close_date": close_date,
            "is_closed": target.is_closed,
            "is_won": target.is_won,
            "closed_at": at if target.is_closed else None,
            "lost_reason": reason,
        }
    )
    changed = tuple(name for name in TRACKED_FIELDS if getattr(new_state, name) != getattr(state, name))
    return StageMove(previous=state, state=new_state, changed=changed, at=at)
