"""An organisation's qualification criteria: versioned data (stored as JSON, changed through the API)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from leadflow_shared.bounds import MAX_ITEMS, Name, Names
from leadflow_shared.contracts.events import DisqualificationReason
from leadflow_shared.contracts.lead import ActivityType, TriggerKind

Weight = int
# Upper bounds far above any real criteria that keep every score and date computable.
MAX_DAYS = 3650
MAX_SCORE = 1_000_000.0
MAX_EMPLOYEES = 10_000_000
MAX_AMOUNT = Decimal(10) ** 15


class InvalidCriteria(ValueError):
    """Criteria the service refuses; `problems` names each one with its place (e.g. `fit.industry.weight`)."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        self.problems = problems
        super().__init__("invalid criteria: " + "; ".join(problems))

    @classmethod
    def from_validation_error(cls, error: ValidationError) -> InvalidCriteria:
        """One readable problem per pydantic error."""
        problems: list[str] = []
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"]) or "criteria"
            if item["type"] == "extra_forbidden":
                problems.append(f"{where}: unknown field")
            elif item["loc"] and item["loc"][-1] == "weight" and item["type"].endswith("_equal"):
                problems.append(f"{where}: weight must be between 0 and 100, got {item['input']}")
            else:
                problems.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
        return cls(tuple(problems))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _clean_words(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(" ".join(v.lower().split()) for v in values if v.strip()))


class FitRule(_Frozen):
    """One rule of the ideal customer profile; `required` makes a firm mismatch disqualify as not_icp."""

    weight: Weight = Field(ge=0, le=100, description="share of the fit score, 0-100")
    required: bool = False


class IndustryRule(FitRule):
    """The lead's industry is one we target (case-insensitive)."""

    industries: Names

    @field_validator("industries")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _clean_words(value)


class CompanySizeRule(FitRule):
    """The company's head count lies within [min_employees, max_employees]."""

    min_employees: int | None = Field(default=None, ge=0, le=MAX_EMPLOYEES)
    max_employees: int | None = Field(default=None, ge=0, le=MAX_EMPLOYEES)

    @model_validator(mode="after")
    def _range_can_hold(self) -> Self:
        if self.min_employees is None and self.max_employees is None:
            raise ValueError("company size rule needs min_employees, max_employees or both")
        if (
            self.min_employees is not None
            and self.max_employees is not None
            and self.min_employees > self.max_employees
        ):
            raise ValueError(
                f"company size rule can never hold: min_employees {self.min_employees} "
                f"> max_employees {self.max_employees}"
            )
        return self


class CountryRule(FitRule):
    """The lead's country (ISO 3166 alpha-2) is one we serve."""

    countries: Names

    @field_validator("countries")
    @classmethod
    def _iso_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(v.strip().upper() for v in value))
        bad = [c for c in codes if not re.fullmatch(r"[A-Z]{2}", c)]
        if bad:
            raise ValueError(f"countries must be ISO 3166 alpha-2 codes such as DE or US, got {bad}")
        return codes


class SeniorityRule(FitRule):
    """The lead's seniority as intake normalises it (c_level, vp, director, manager, individual, unknown)."""

    levels: Names

    @field_validator("levels")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _clean_words(value)


DEFAULT_FREE_MAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "icloud.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "proton.me",
    "protonmail.com",
    "mail.ru",
    "yandex.ru",
    "qq.com",
    "163.com",
)


class WorkEmailRule(FitRule):
    """The lead wrote from a company address, not a free-mail one."""

    free_mail_domains: Names = DEFAULT_FREE_MAIL_DOMAINS

    @field_validator("free_mail_domains")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _clean_words(value)


class FitRules(_Frozen):
    """The ideal customer profile; each present rule adds its weight to the fit score when it holds."""

    industry: IndustryRule | None = None
    company_size: CompanySizeRule | None = None
    country: CountryRule | None = None
    seniority: SeniorityRule | None = None
    work_email: WorkEmailRule | None = None

    @model_validator(mode="after")
    def _lists_can_hold(self) -> Self:
        for name, rule, values in (
            ("industry", self.industry, self.industry.industries if self.industry else ()),
            ("country", self.country, self.country.countries if self.country else ()),
            ("seniority", self.seniority, self.seniority.levels if self.seniority else ()),
        ):
            if rule is not None and not values and (rule.required or rule.weight > 0):
                raise ValueError(
                    f"{name} rule can never hold: its list is empty (remove the rule to drop it)"
                )
        return self

    def rules(self) -> tuple[tuple[str, FitRule], ...]:
        """The present rules with their names, in a fixed order."""
        named: tuple[tuple[str, FitRule | None], ...] = (
            ("industry", self.industry),
            ("company_size", self.company_size),
            ("country", self.country),
            ("seniority", self.seniority),
            ("work_email", self.work_email),
        )
        return tuple((name, rule) for name, rule in named if rule is not None)

    @property
    def total_weight(self) -> int:
        """Sum of the weights of the present rules."""
        return sum(rule.weight for _, rule in self.rules())


class EngagementRules(_Frozen):
    """Points per activity type, halved every `half_life_days`, summed and capped."""

    points: dict[ActivityType, float] = Field(default_factory=dict)
    half_life_days: float = Field(
        default=30.0, gt=0, le=MAX_DAYS, description="days after which an activity counts half"
    )
    cap: float = Field(default=100.0, gt=0, le=MAX_SCORE)

    @field_validator("points")
    @classmethod
    def _non_negative(cls, value: dict[ActivityType, float]) -> dict[ActivityType, float]:
        bad = {k.value: v for k, v in value.items() if v < 0 or v > 100}
        if bad:
            raise ValueError(f"points per activity must be between 0 and 100, got {bad}")
        return value


class NeedRule(_Frozen):
    """Need: a form answer (negative keywords say no; any other answer, or a keyword match, says yes)."""

    keywords: Names = ()
    negative_keywords: Names = (
        "no",
        "none",
        "not interested",
        "just browsing",
        "just looking",
        "student",
        "research only",
        "no need",
    )
    proving_activities: tuple[ActivityType, ...] = (ActivityType.DEMO_REQUESTED, ActivityType.MEETING_HELD)


class AuthorityRule(_Frozen):
    """Authority: an explicit answer, else a seniority level that buys (a lower one leaves it unknown)."""

    yes_keywords: Names = (
        "yes",
        "decision maker",
        "decision-maker",
        "final say",
        "budget holder",
        "i sign",
        "owner",
    )
    no_keywords: Names = (
        "no",
        "not",
        "influencer",
        "end user",
        "researching",
        "student",
        "evaluator",
    )
    seniority_levels: Names = ("c_level", "vp", "director")


class BudgetRule(_Frozen):
    """Budget / ability to deliver: a stated amount at least `min_amount`, an explicit yes, or a trigger."""

    min_amount: Decimal = Field(default=Decimal(0), ge=0, le=MAX_AMOUNT)
    currency: Name = "EUR"
    exchange_rates: dict[Name, Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT)]] = Field(
        default_factory=dict,
        max_length=MAX_ITEMS,
        description="units of `currency` per unit of the named currency",
    )
    yes_keywords: Names = ("yes", "approved", "allocated", "budgeted", "signed off")
    no_keywords: Names = ("no", "no budget", "none", "zero", "not yet", "free")
    proving_triggers: tuple[TriggerKind, ...] = (TriggerKind.BUDGET_APPROVED, TriggerKind.FUNDING_ROUND)


class TimelineRule(_Frozen):
    """Timeline: the purchase is planned within `max_days`."""

    max_days: int = Field(default=180, gt=0, le=MAX_DAYS)
    no_keywords: Names = ("no timeline", "no plans", "not planned", "never", "no rush", "someday")


class QualifyingRules(_Frozen):
    """How need, authority, budget and timeline are derived from answers, activities and sales input."""

    need: NeedRule = NeedRule()
    authority: AuthorityRule = AuthorityRule()
    budget: BudgetRule = BudgetRule()
    timeline: TimelineRule = TimelineRule()
    unsure_keywords: Names = (
        "not sure",
        "unsure",
        "don't know",
        "dont know",
        "no idea",
        "tbd",
        "n/a",
        "depends",
    )


class ConditionKind(StrEnum):
    """What a qualifying condition tests."""

    FIT = "fit"
    ENGAGEMENT = "engagement"
    NEED = "need"
    AUTHORITY = "authority"
    BUDGET = "budget"
    TIMELINE = "timeline"


_SCORED = frozenset({ConditionKind.FIT, ConditionKind.ENGAGEMENT})


class QualifyCondition(_Frozen):
    """One named condition of the decision rule; `reason` is why a lead fails when it is known not to hold.

    A condition without a reason never disqualifies: the lead stays where it is until it holds.
    """

    name: Name
    kind: ConditionKind
    threshold: float | None = Field(default=None, ge=-MAX_SCORE, le=MAX_SCORE)
    reason: DisqualificationReason | None = None

    @model_validator(mode="after")
    def _threshold_only_for_scores(self) -> Self:
        if self.kind in _SCORED and self.threshold is None:
            raise ValueError(f"condition {self.name!r}: a {self.kind.value} condition needs a threshold")
        if self.kind not in _SCORED and self.threshold is not None:
            raise ValueError(f"condition {self.name!r}: a {self.kind.value} condition takes no threshold")
        if self.threshold is not None and self.threshold < 0:
            raise ValueError(f"condition {self.name!r}: threshold {self.threshold} is below 0")
        return self


class DecisionRule(_Frozen):
    """A lead is qualified when every condition holds; conditions are checked in order."""

    conditions: tuple[QualifyCondition, ...] = Field(min_length=1, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [c.name for c in self.conditions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"condition names must be unique; repeated: {duplicates}")
        return self


class ValidityRule(_Frozen):
    """What makes a lead invalid at once (never nurtured)."""

    disqualify_test_leads: bool = True
    require_contact: bool = True
    blocked_email_domains: Names = ("mailinator.com", "guerrillamail.com", "10minutemail.com")


DEFAULT_NURTURABLE: dict[DisqualificationReason, bool] = {
    DisqualificationReason.NO_NEED: True,
    DisqualificationReason.NO_AUTHORITY: True,
    DisqualificationReason.NO_BUDGET: True,
    DisqualificationReason.NOT_ICP: False,
    DisqualificationReason.UNRESPONSIVE: True,
    DisqualificationReason.INVALID: False,
}


class Criteria(_Frozen):
    """One version of an organisation's qualification criteria."""

    version: int = Field(ge=1)
    fit: FitRules
    engagement: EngagementRules = EngagementRules()
    qualifying: QualifyingRules = QualifyingRules()
    decision: DecisionRule
    nurturable: dict[DisqualificationReason, bool] = Field(default_factory=lambda: dict(DEFAULT_NURTURABLE))
    validity: ValidityRule = ValidityRule()

    @model_validator(mode="after")
    def _conditions_can_hold(self) -> Self:
        for condition in self.decision.conditions:
            threshold = condition.threshold
            if condition.kind is ConditionKind.FIT and threshold is not None:
                if threshold > 100:
                    raise ValueError(
                        f"condition {condition.name!r} can never hold: fit threshold {threshold} "
                        "is above the maximum fit score 100"
                    )
                if threshold > 0 and self.fit.total_weight == 0:
                    raise ValueError(
                        f"condition {condition.name!r} can never hold: no fit rule carries any weight"
                    )
            if condition.kind is ConditionKind.ENGAGEMENT and threshold is not None:
                if threshold > self.engagement.cap:
                    raise ValueError(
                        f"condition {condition.name!r} can never hold: engagement threshold {threshold} "
                        f"is above the engagement cap {self.engagement.cap}"
                    )
                if threshold > 0 and not any(p > 0 for p in self.engagement.points.values()):
                    raise ValueError(
                        f"condition {condition.name!r} can never hold: no activity type earns points"
                    )
        return self

    def is_nurturable(self, reason: DisqualificationReason) -> bool:
        """Whether nurture should take a lead disqualified for `reason`."""
        return self.nurturable.get(reason, DEFAULT_NURTURABLE[reason])


def parse_criteria(data: Mapping[str, Any] | str | bytes) -> Criteria:
    """Criteria from stored or submitted JSON (text or decoded); InvalidCriteria names every problem."""
    try:
        if isinstance(data, str | bytes):
            return Criteria.model_validate_json(data)
        return Criteria.model_validate(data)
    except ValidationError as error:
        raise InvalidCriteria.from_validation_error(error) from None


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def revise_criteria(current: Criteria, changes: Mapping[str, Any]) -> Criteria:
    """The next version: `changes` merged in (objects deeply, lists replaced), then validated."""
    data = _merge(current.model_dump(mode="json"), changes)
    data["version"] = current.version + 1
    return parse_criteria(data)


DEFAULT_CRITERIA = Criteria(
    version=1,
    fit=FitRules(
        industry=IndustryRule(
            weight=25,
            industries=(
                "software",
                "saas",
                "information technology",
                "financial services",
                "fintech",
                "logistics",
                "manufacturing",
                "e-commerce",
            ),
        ),
        company_size=CompanySizeRule(weight=25, min_employees=10, max_employees=5_000),
        country=CountryRule(
            weight=20,
            required=True,
            countries=("DE", "AT", "CH", "NL", "BE", "FR", "GB", "IE", "US", "CA"),
        ),
        seniority=SeniorityRule(weight=15, levels=("c_level", "vp", "director", "manager")),
        work_email=WorkEmailRule(weight=15),
    ),
    engagement=EngagementRules(
        points={
            ActivityType.EMAIL_OPENED: 1,
            ActivityType.EMAIL_CLICKED: 3,
            ActivityType.PAGE_VISITED: 2,
            ActivityType.PRICING_PAGE_VISITED: 10,
            ActivityType.CONTENT_DOWNLOADED: 8,
            ActivityType.WEBINAR_REGISTERED: 5,
            ActivityType.WEBINAR_ATTENDED: 15,
            ActivityType.DEMO_REQUESTED: 30,
            ActivityType.MEETING_HELD: 30,
            ActivityType.CALL_LOGGED: 10,
            ActivityType.FORM_SUBMITTED: 10,
            ActivityType.TRIGGER: 20,
        },
        half_life_days=30,
        cap=100,
    ),
    qualifying=QualifyingRules(
        budget=BudgetRule(
            min_amount=Decimal(10_000),
            currency="EUR",
            exchange_rates={"USD": Decimal("0.92"), "GBP": Decimal("1.17"), "CHF": Decimal("1.06")},
        ),
    ),
    decision=DecisionRule(
        conditions=(
            QualifyCondition(
                name="fits the ideal customer profile",
                kind=ConditionKind.FIT,
                threshold=60,
                reason=DisqualificationReason.NOT_ICP,
            ),
            QualifyCondition(
                name="has a need", kind=ConditionKind.NEED, reason=DisqualificationReason.NO_NEED
            ),
            QualifyCondition(
                name="can decide", kind=ConditionKind.AUTHORITY, reason=DisqualificationReason.NO_AUTHORITY
            ),
            QualifyCondition(
                name="has the budget", kind=ConditionKind.BUDGET, reason=DisqualificationReason.NO_BUDGET
            ),
        )
    ),
)
