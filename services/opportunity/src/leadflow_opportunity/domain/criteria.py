"""Opportunity criteria: when a converted contact becomes an opportunity, and for how much and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadflow_opportunity.domain.config import ConfigModel
from leadflow_opportunity.domain.periods import end_of_quarter
from leadflow_shared.bounds import MAX_ITEMS, Money
from leadflow_shared.contracts.events import LeadQualified

MAX_FIT_SCORE = 100.0
# Far above any real deal, yet every date and amount computed from them fits its column.
MAX_DAYS = 3650
MAX_EMPLOYEES = 10_000_000


class SizeBand(ConfigModel):
    """Companies of min_employees..max_employees (None: no upper bound) are estimated at amount."""

    min_employees: int = Field(le=MAX_EMPLOYEES)
    max_employees: int | None = Field(default=None, le=MAX_EMPLOYEES)
    amount: Money

    @model_validator(mode="after")
    def _band_is_sound(self) -> SizeBand:
        if self.min_employees < 1:
            raise ValueError(f"size band min_employees must be at least 1, got {self.min_employees}")
        if self.max_employees is not None and self.max_employees < self.min_employees:
            raise ValueError(
                f"size band {self.min_employees}-{self.max_employees} can never hold: "
                "max_employees is below min_employees"
            )
        if self.amount < 0:
            raise ValueError(f"size band amount must not be negative, got {self.amount}")
        return self

    def holds(self, company_size: int) -> bool:
        """True when a company of this many employees falls in the band."""
        return self.min_employees <= company_size and (
            self.max_employees is None or company_size <= self.max_employees
        )


DEFAULT_SIZE_BANDS: tuple[SizeBand, ...] = (
    SizeBand(min_employees=1, max_employees=50, amount=Decimal("10000")),
    SizeBand(min_employees=51, max_employees=200, amount=Decimal("25000")),
    SizeBand(min_employees=201, max_employees=1000, amount=Decimal("60000")),
    SizeBand(min_employees=1001, max_employees=5000, amount=Decimal("150000")),
    SizeBand(min_employees=5001, amount=Decimal("300000")),
)


class AmountRules(ConfigModel):
    """How an opportunity's amount is estimated: budget, else company-size band, else the default."""

    size_bands: tuple[SizeBand, ...] = Field(default=DEFAULT_SIZE_BANDS, max_length=MAX_ITEMS)
    default_amount: Money = Decimal("15000")

    @model_validator(mode="after")
    def _bands_do_not_overlap(self) -> AmountRules:
        if self.default_amount < 0:
            raise ValueError(f"default_amount must not be negative, got {self.default_amount}")
        ordered = sorted(self.size_bands, key=lambda band: band.min_employees)
        for lower, upper in pairwise(ordered):
            if lower.max_employees is None or lower.max_employees >= upper.min_employees:
                raise ValueError(
                    f"size bands overlap: {lower.min_employees}-{lower.max_employees or ''} "
                    f"and {upper.min_employees}-{upper.max_employees or ''}"
                )
        return self


class Condition(StrEnum):
    """One condition of the opportunity criteria."""

    BUDGET_CONFIRMED = "budget_confirmed"
    DECISION_MAKER_ENGAGED = "decision_maker_engaged"
    NEED_DOCUMENTED = "need_documented"
    TIMELINE_WITHIN_DAYS = "timeline_within_days"
    FIT_ABOVE = "fit_above"


class OpportunityCriteria(ConfigModel):
    """One version of the organisation's opportunity criteria; each condition is on or off (None / False)."""

    version: int = Field(ge=1)
    budget_confirmed: bool = True
    decision_maker_engaged: bool = True
    need_documented: bool = True
    timeline_within_days: int | None = Field(default=90, le=MAX_DAYS)
    fit_above: float | None = 50.0
    amount: AmountRules = AmountRules()

    @field_validator("timeline_within_days")
    @classmethod
    def _days_not_negative(cls, days: int | None) -> int | None:
        if days is not None and days < 0:
            raise ValueError(f"timeline_within_days must not be negative days, got {days}")
        return days

    @field_validator("fit_above")
    @classmethod
    def _fit_threshold_in_range(cls, threshold: float | None) -> float | None:
        if threshold is None:
            return None
        if not 0 <= threshold <= MAX_FIT_SCORE:
            raise ValueError(f"fit_above must be within 0-100, got {threshold}")
        if threshold == MAX_FIT_SCORE:
            raise ValueError("fit_above 100 can never hold: a fit score is at most 100")
        return threshold

    def enabled(self) -> tuple[Condition, ...]:
        """The conditions this version checks, in a stable order."""
        switches = {
            Condition.BUDGET_CONFIRMED: self.budget_confirmed,
            Condition.DECISION_MAKER_ENGAGED: self.decision_maker_engaged,
            Condition.NEED_DOCUMENTED: self.need_documented,
            Condition.TIMELINE_WITHIN_DAYS: self.timeline_within_days is not None,
            Condition.FIT_ABOVE: self.fit_above is not None,
        }
        return tuple(condition for condition, on in switches.items() if on)


DEFAULT_OPPORTUNITY_CRITERIA = OpportunityCriteria(version=1)
"""Budget confirmed, decision maker engaged, need documented, decision within 90 days, fit above 50."""


class ContactSignals(BaseModel):
    """What is known about a contact's deal; None means unknown, and newer known values win."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    budget_amount: Decimal | None = Field(default=None, ge=0)
    budget_confirmed: bool | None = None
    authority: bool | None = None
    need: bool | None = None
    decision_date: date | None = None
    fit_score: float | None = None
    engagement_score: float | None = None
    company_size: int | None = Field(default=None, ge=0)

    def merged_with(self, newer: ContactSignals) -> ContactSignals:
        """These signals with every value the newer signals know laid over them."""
        known = {name: getattr(newer, name) for name in type(newer).model_fields}
        return self.model_copy(update={name: value for name, value in known.items() if value is not None})


def _days_ahead(today: date, days: int | None) -> date | None:
    return None if days is None else today + timedelta(days=max(days, 0))


def signals_from_qualified(event: LeadQualified, today: date) -> ContactSignals:
    """The signals a lead.qualified event carries, its relative timeline pinned to a date from today.

    Qualification's False means "not shown" rather than "shown absent", so it stays unknown and never
    overwrites what sales confirmed.
    """
    return ContactSignals(
        budget_amount=event.budget_amount,
        budget_confirmed=event.budget_confirmed or None,
        authority=event.authority or None,
        need=event.need or None,
        decision_date=_days_ahead(today, event.timeline_days),
        fit_score=event.fit_score,
        engagement_score=event.engagement_score,
        company_size=event.profile.company_size,
    )


class SalesSignals(ConfigModel):
    """Signals sales reports by hand (POST /v1/contacts/{id}/signals); a timeline may come in days."""

    budget_amount: Money | None = None
    budget_confirmed: bool | None = None
    authority: bool | None = None
    need: bool | None = None
    timeline_days: int | None = Field(default=None, ge=0, le=MAX_DAYS)
    decision_date: date | None = None
    company_size: int | None = Field(default=None, ge=0, le=MAX_EMPLOYEES)

    @model_validator(mode="after")
    def _one_timeline(self) -> SalesSignals:
        if self.timeline_days is not None and self.decision_date is not None:
            raise ValueError("give timeline_days or decision_date, not both")
        return self

    def to_signals(self, today: date) -> ContactSignals:
        """The contact signals this report states, timeline_days counted from today."""
        return ContactSignals(
            budget_amount=self.budget_amount,
            budget_confirmed=self.budget_confirmed,
            authority=self.authority,
            need=self.need,
            decision_date=self.decision_date or _days_ahead(today, self.timeline_days),
            company_size=self.company_size,
        )


ConditionValue = bool | int | float | Decimal | date | None


@dataclass(frozen=True)
class ConditionResult:
    """One condition as checked: the signal value seen, what was required, and whether it held."""

    condition: Condition
    value: ConditionValue
    required: str
    held: bool


@dataclass(frozen=True)
class CriteriaResult:
    """Every enabled condition of one criteria version, checked against a contact's signals."""

    criteria_version: int
    conditions: tuple[ConditionResult, ...]

    @property
    def met(self) -> bool:
        """True when every enabled condition held."""
        return all(result.held for result in self.conditions)

    @property
    def unmet(self) -> tuple[Condition, ...]:
        """The conditions that did not hold, in the criteria's order."""
        return tuple(result.condition for result in self.conditions if not result.held)


def _check_one(
    condition: Condition, criteria: OpportunityCriteria, signals: ContactSignals, today: date
) -> ConditionResult:
    if condition is Condition.BUDGET_CONFIRMED:
        return ConditionResult(condition, signals.budget_confirmed, "true", signals.budget_confirmed is True)
    if condition is Condition.DECISION_MAKER_ENGAGED:
        return ConditionResult(condition, signals.authority, "true", signals.authority is True)
    if condition is Condition.NEED_DOCUMENTED:
        return ConditionResult(condition, signals.need, "true", signals.need is True)
    if condition is Condition.TIMELINE_WITHIN_DAYS:
        days = criteria.timeline_within_days or 0
        # A decision date already past still counts: the buyer is overdue, not uninterested.
        latest = today + timedelta(days=days)
        held = signals.decision_date is not None and signals.decision_date <= latest
        return ConditionResult(condition, signals.decision_date, f"on or before {latest}", held)
    threshold = criteria.fit_above or 0.0
    held = signals.fit_score is not None and signals.fit_score > threshold
    return ConditionResult(condition, signals.fit_score, f"above {threshold:g}", held)


def check(criteria: OpportunityCriteria, signals: ContactSignals, today: date) -> CriteriaResult:
    """Check each enabled condition of the criteria against what is known about the contact today."""
    return CriteriaResult(
        criteria_version=criteria.version,
        conditions=tuple(_check_one(c, criteria, signals, today) for c in criteria.enabled()),
    )


class AmountBasis(StrEnum):
    """Where an estimated amount came from."""

    BUDGET = "budget"
    COMPANY_SIZE = "company_size"
    DEFAULT = "default"


@dataclass(frozen=True)
class AmountEstimate:
    """An opportunity amount and the rule that gave it."""

    amount: Decimal
    basis: AmountBasis


def estimate_amount(rules: AmountRules, signals: ContactSignals) -> AmountEstimate:
    """The budget when known, else the company-size band's amount, else the default amount."""
    if signals.budget_amount is not None:
        return AmountEstimate(signals.budget_amount, AmountBasis.BUDGET)
    if signals.company_size is not None:
        for band in rules.size_bands:
            if band.holds(signals.company_size):
                return AmountEstimate(band.amount, AmountBasis.COMPANY_SIZE)
    return AmountEstimate(rules.default_amount, AmountBasis.DEFAULT)


def expected_close_date(signals: ContactSignals, today: date) -> date:
    """The buyer's decision date when it is still ahead, else the end of the current quarter."""
    if signals.decision_date is not None and signals.decision_date >= today:
        return signals.decision_date
    return end_of_quarter(today)


@dataclass(frozen=True)
class OpportunityDecision:
    """Whether to open an opportunity, why, and (when opening) its amount and expected close date."""

    result: CriteriaResult
    amount: AmountEstimate | None
    close_date: date | None

    @property
    def open(self) -> bool:
        """True when the criteria were met and an opportunity should be opened."""
        return self.result.met


def decide_opportunity(
    criteria: OpportunityCriteria, signals: ContactSignals, today: date
) -> OpportunityDecision:
    """Check the criteria and, when they hold, estimate the amount and close date."""
    result = check(criteria, signals, today)
    if not result.met:
        return OpportunityDecision(result, None, None)
    amount = estimate_amount(criteria.amount, signals)
    return OpportunityDecision(result, amount, expected_close_date(signals, today))
