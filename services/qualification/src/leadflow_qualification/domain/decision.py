"""Judging one lead against the criteria: scores, conditions, outcome, and the reasons in plain words."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from leadflow_qualification.domain.answers import (
    KeywordList,
    keyword_list,
    normalise,
    parse_budget,
    parse_timeline_days,
)
from leadflow_qualification.domain.criteria import (
    BudgetRule,
    CompanySizeRule,
    ConditionKind,
    CountryRule,
    Criteria,
    EngagementRules,
    FitRule,
    IndustryRule,
    QualifyCondition,
    SeniorityRule,
    ValidityRule,
    WorkEmailRule,
)
from leadflow_qualification.domain.facts import Activity, LeadFacts, SalesInput
from leadflow_qualification.domain.statuses import BaseCategory, StatusCatalog, category_path
from leadflow_shared.contracts.events import DisqualificationReason
from leadflow_shared.contracts.lead import LeadProfile


class Outcome(StrEnum):
    """What the criteria say about a lead now."""

    QUALIFIED = "qualified"
    UNQUALIFIED = "unqualified"
    UNDECIDED = "undecided"


class Source(StrEnum):
    """Where a condition's value came from."""

    SALES = "sales"
    ACTIVITY = "activity"
    ANSWER = "answer"
    PROFILE = "profile"
    SCORE = "score"
    NONE = "none"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FitRuleResult(_Frozen):
    """One ICP rule: held (True/False) or unknown (None) because the profile lacks the fact."""

    name: str
    weight: int
    required: bool
    held: bool | None
    value: str | None


class ConditionResult(_Frozen):
    """One qualifying condition: held, failed, or unknown (None), with its value and where it came from."""

    name: str
    kind: ConditionKind
    held: bool | None
    value: str | None
    source: Source
    explanation: str


class Decision(_Frozen):
    """The verdict on one lead under one criteria version, with everything needed to explain it."""

    outcome: Outcome
    reason: DisqualificationReason | None = None
    nurturable: bool | None = None
    fit_score: float
    engagement_score: float
    fit_rules: tuple[FitRuleResult, ...]
    conditions: tuple[ConditionResult, ...]
    need: bool | None
    authority: bool | None
    budget: bool | None
    budget_amount: Decimal | None
    timeline_days: int | None
    criteria_version: int
    evaluated_at: datetime
    reasons: tuple[str, ...]

    def target_category(self) -> BaseCategory | None:
        """Where the lead should go: qualified, nurturing (nurturable), archived (not), or nowhere yet."""
        if self.outcome is Outcome.QUALIFIED:
            return BaseCategory.QUALIFIED
        if self.outcome is Outcome.UNQUALIFIED:
            return BaseCategory.NURTURING if self.nurturable else BaseCategory.ARCHIVED
        return None


# fit


def _country_code(raw: str) -> str | None:
    # intake normalises countries to ISO alpha-2; anything else is not a firm fact to disqualify on
    text = raw.strip()
    return text.upper() if len(text) == 2 and text.isalpha() else None


def _email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower() or None


FitCheck = Callable[[LeadProfile], tuple[bool | None, str | None]]


def _fit_check(rule: FitRule) -> FitCheck:
    """How one ICP rule reads a profile: held (True/False) or unknown (None), and the value it read."""
    if isinstance(rule, IndustryRule):
        industries = frozenset(rule.industries)

        def industry(profile: LeadProfile) -> tuple[bool | None, str | None]:
            if not profile.industry:
                return None, None
            return " ".join(profile.industry.lower().split()) in industries, profile.industry

        return industry
    if isinstance(rule, CompanySizeRule):
        low, high = rule.min_employees, rule.max_employees

        def company_size(profile: LeadProfile) -> tuple[bool | None, str | None]:
            size = profile.company_size
            if size is None:
                return None, None
            return (low is None or size >= low) and (high is None or size <= high), f"{size} employees"

        return company_size
    if isinstance(rule, CountryRule):
        countries = frozenset(rule.countries)

        def country(profile: LeadProfile) -> tuple[bool | None, str | None]:
            if not profile.country:
                return None, None
            code = _country_code(profile.country)
            return (code in countries) if code else None, profile.country

        return country
    if isinstance(rule, SeniorityRule):
        levels = frozenset(rule.levels)

        def seniority(profile: LeadProfile) -> tuple[bool | None, str | None]:
            if not profile.seniority:
                return None, None
            return profile.seniority.lower() in levels, profile.seniority

        return seniority
    if isinstance(rule, WorkEmailRule):
        free_mail = frozenset(rule.free_mail_domains)

        def work_email(profile: LeadProfile) -> tuple[bool | None, str | None]:
            domain = _email_domain(profile.email)
            if domain is None:
                return None, None
            return domain not in free_mail, domain

        return work_email
    raise TypeError(f"unknown fit rule {type(rule).__name__}")


@dataclass(frozen=True, slots=True)
class Rulebook:
    """What judging reads from one criteria object, worked out once instead of for every lead."""

    criteria: Criteria
    fit: tuple[tuple[str, FitRule, FitCheck], ...]
    total_weight: int
    unsure: KeywordList
    need_negative: KeywordList
    need: KeywordList
    authority_no: KeywordList
    authority_yes: KeywordList
    budget_no: KeywordList
    budget_yes: KeywordList
    timeline_no: KeywordList
    minimum_budget: str
    specs: dict[str, QualifyCondition]

    @classmethod
    def of(cls, criteria: Criteria) -> Rulebook:
        """The rulebook of these criteria."""
        q, rules = criteria.qualifying, criteria.fit.rules()
        return cls(
            criteria=criteria,
            fit=tuple((name, rule, _fit_check(rule)) for name, rule in rules),
            total_weight=sum(rule.weight for _, rule in rules),
            unsure=keyword_list(q.unsure_keywords),
            need_negative=keyword_list(q.need.negative_keywords),
            need=keyword_list(q.need.keywords),
            authority_no=keyword_list(q.authority.no_keywords),
            authority_yes=keyword_list(q.authority.yes_keywords),
            budget_no=keyword_list(q.budget.no_keywords),
            budget_yes=keyword_list(q.budget.yes_keywords),
            timeline_no=keyword_list(q.timeline.no_keywords),
            minimum_budget=f"{q.budget.min_amount:f} {q.budget.currency}",
            specs={spec.name: spec for spec in criteria.decision.conditions},
        )


def score_fit(profile: LeadProfile, book: Rulebook) -> tuple[float, float, tuple[FitRuleResult, ...]]:
    """Fit score 0-100, the best score still reachable once unknown facts are known, and each rule."""
    results: list[FitRuleResult] = []
    held_weight = open_weight = 0
    for name, rule, check in book.fit:
        held, value = check(profile)
        results.append(
            FitRuleResult(name=name, weight=rule.weight, required=rule.required, held=held, value=value)
        )
        if held is True:
            held_weight += rule.weight
        elif held is None:
            open_weight += rule.weight
    total = book.total_weight
    if total == 0:
        return 0.0, 0.0, tuple(results)
    return (
        round(100 * held_weight / total, 2),
        round(100 * (held_weight + open_weight) / total, 2),
        tuple(results),
    )


# engagement


def score_engagement(activities: Iterable[Activity], rules: EngagementRules, now: datetime) -> float:
    """Sum of each activity's points halved every half-life since it happened, capped."""
    total = 0.0
    for activity in activities:
        points = rules.points.get(activity.activity_type, 0.0)
        age_days = max(0.0, (now - activity.occurred_at).total_seconds() / 86_400)
        total += points * math.pow(0.5, age_days / rules.half_life_days)
    return round(min(rules.cap, total), 2)


# need, authority, budget, timeline


class Finding(NamedTuple):
    """What a qualifying condition found: held, failed or unknown (None), the value, its source, and why."""

    held: bool | None
    value: str | None
    source: Source
    explanation: str


def derive_need(
    profile: LeadProfile, activities: tuple[Activity, ...], sales: SalesInput, book: Rulebook
) -> Finding:
    """Need: sales' word, else an activity that proves it, else the form answer."""
    q = book.criteria.qualifying
    if sales.need is not None:
        return Finding(sales.need, str(sales.need).lower(), Source.SALES, "sales said so")
    proof = next((a for a in activities if a.activity_type in q.need.proving_activities), None)
    if proof is not None:
        return Finding(
            True, proof.activity_type.value, Source.ACTIVITY, f"the lead's {proof.activity_type.value}"
        )
    answer = (profile.answers.need or "").strip()
    if not answer:
        return Finding(None, None, Source.NONE, "no need stated yet")
    clean = normalise(answer)
    if unsure := book.unsure.first_in(clean):
        return Finding(None, answer, Source.ANSWER, f"the answer is unsure ({unsure!r})")
    negative = book.need_negative.first_in(clean)
    if negative:
        return Finding(False, answer, Source.ANSWER, f"the answer says {negative!r}")
    if not q.need.keywords:
        return Finding(True, answer, Source.ANSWER, "the lead described a need")
    keyword = book.need.first_in(clean)
    if keyword:
        return Finding(True, answer, Source.ANSWER, f"the answer mentions {keyword!r}")
    return Finding(None, answer, Source.ANSWER, "the answer names no need we solve")


def derive_authority(profile: LeadProfile, sales: SalesInput, book: Rulebook) -> Finding:
    """Authority: sales' word, else the form answer, else a buying seniority (a lower one proves nothing)."""
    if sales.authority is not None:
        return Finding(sales.authority, str(sales.authority).lower(), Source.SALES, "sales said so")
    answer = (profile.answers.authority or "").strip()
    clean = normalise(answer)
    if answer and not book.unsure.first_in(clean):
        no = book.authority_no.first_in(clean)
        if no:
            return Finding(False, answer, Source.ANSWER, f"the answer says {no!r}")
        yes = book.authority_yes.first_in(clean)
        if yes:
            return Finding(True, answer, Source.ANSWER, f"the answer says {yes!r}")
    seniority = (profile.seniority or "").lower()
    if seniority and seniority in book.criteria.qualifying.authority.seniority_levels:
        return Finding(True, seniority, Source.PROFILE, f"seniority {seniority!r} decides purchases")
    if seniority:
        return Finding(
            None, seniority, Source.PROFILE, f"seniority {seniority!r} alone does not show authority"
        )
    return Finding(None, answer or None, Source.NONE, "authority not known yet")


def _budget_from_amount(low: Decimal | None, high: Decimal | None, rule: BudgetRule) -> bool | None:
    if low is not None and low >= rule.min_amount:
        return True
    if high is not None and high < rule.min_amount:
        return False
    return None


def derive_budget(
    profile: LeadProfile, activities: tuple[Activity, ...], sales: SalesInput, book: Rulebook
) -> tuple[Finding, Decimal | None]:
    """Budget: sales' word or amount, else a budget trigger, else the stated amount or a yes/no answer."""
    rule, minimum = book.criteria.qualifying.budget, book.minimum_budget
    if sales.budget is not None:
        return Finding(
            sales.budget, str(sales.budget).lower(), Source.SALES, "sales said so"
        ), sales.budget_amount
    if sales.budget_amount is not None:
        held = sales.budget_amount >= rule.min_amount
        value = f"{sales.budget_amount:f} {rule.currency}"
        return Finding(
            held, value, Source.SALES, f"sales noted {value}, minimum {minimum}"
        ), sales.budget_amount
    trigger = next(
        (a for a in activities if a.trigger is not None and a.trigger in rule.proving_triggers), None
    )
    if trigger is not None and trigger.trigger is not None:
        return Finding(True, trigger.trigger.value, Source.ACTIVITY, f"trigger {trigger.trigger.value}"), None
    answer = (profile.answers.budget or "").strip()
    if not answer:
        return Finding(None, None, Source.NONE, "no budget stated yet"), None
    clean = normalise(answer)
    if unsure := book.unsure.first_in(clean):
        return Finding(None, answer, Source.ANSWER, f"the answer is unsure ({unsure!r})"), None
    stated = parse_budget(answer)
    if stated is not None:
        currency = stated.currency or rule.currency
        if currency != rule.currency:
            rate = rule.exchange_rates.get(currency)
            if rate is None:
                why = f"no exchange rate from {currency} to {rule.currency}"
                return Finding(None, answer, Source.ANSWER, why), None
            stated = stated.converted(rate, rule.currency)
        verdict = _budget_from_amount(stated.low, stated.high, rule)
        why = f"stated {stated.describe()} against a minimum of {minimum}"
        amount = stated.high if stated.high is not None else stated.low
        return Finding(verdict, answer, Source.ANSWER, why), amount
    no = book.budget_no.first_in(clean)
    if no:
        return Finding(False, answer, Source.ANSWER, f"the answer says {no!r}"), None
    yes = book.budget_yes.first_in(clean)
    if yes:
        return Finding(True, answer, Source.ANSWER, f"the answer says {yes!r}"), None
    return Finding(None, answer, Source.ANSWER, "the budget answer could not be read"), None


def derive_timeline(
    profile: LeadProfile, sales: SalesInput, book: Rulebook, now: datetime
) -> tuple[Finding, int | None]:
    """Timeline: sales' days, else the answer read as days from now, compared with the maximum."""
    limit = book.criteria.qualifying.timeline.max_days
    if sales.timeline_days is not None:
        days = sales.timeline_days
        why = f"sales noted {days} days, maximum {limit}"
        return Finding(days <= limit, f"{days} days", Source.SALES, why), days
    answer = (profile.answers.timeline or "").strip()
    if not answer:
        return Finding(None, None, Source.NONE, "no timeline stated yet"), None
    clean = normalise(answer)
    if unsure := book.unsure.first_in(clean):
        return Finding(None, answer, Source.ANSWER, f"the answer is unsure ({unsure!r})"), None
    no = book.timeline_no.first_in(clean)
    if no:
        return Finding(False, answer, Source.ANSWER, f"the answer says {no!r}"), None
    parsed = parse_timeline_days(answer, now)
    if parsed is None:
        return Finding(None, answer, Source.ANSWER, "the timeline answer could not be read"), None
    return Finding(parsed <= limit, answer, Source.ANSWER, f"about {parsed} days, maximum {limit}"), parsed


# validity


def find_invalidity(profile: LeadProfile, rule: ValidityRule) -> str | None:
    """Why the lead is invalid data, or None when it is a real, reachable person."""
    if rule.disqualify_test_leads and profile.is_test:
        return "marked as a test lead"
    if profile.email is not None:
        domain = _email_domain(profile.email)
        if domain is None or "." not in domain:
            return f"email {profile.email!r} is not an address"
        if domain in rule.blocked_email_domains:
            return f"email domain {domain!r} is a throwaway mailbox"
    if rule.require_contact and not profile.email and not profile.phone:
        return "neither an email address nor a phone number"
    return None


# the verdict

_NO_SALES_INPUT = SalesInput()
_RULE_STATES: dict[bool | None, str] = {True: "holds", False: "fails", None: "unknown"}
_CONDITION_STATES: dict[bool | None, str] = {True: "yes", False: "no", None: "not known yet"}


def evaluate(
    lead_facts: LeadFacts,
    activities: Iterable[Activity],
    sales_input: SalesInput | None,
    book: Rulebook,
    now: datetime,
) -> Decision:
    """Judge one lead by the rulebook of the criteria in force: invalid data or not-ICP on firm facts
    disqualify at once; else the decision rule.

    A condition that is not known yet never disqualifies: a new lead with no answers stays undecided.
    """
    criteria = book.criteria
    profile = lead_facts.profile
    acts = tuple(activities)
    sales = sales_input or _NO_SALES_INPUT

    fit, fit_best, fit_rules = score_fit(profile, book)
    engagement = score_engagement(acts, criteria.engagement, now)
    need = derive_need(profile, acts, sales, book)
    authority = derive_authority(profile, sales, book)
    budget, budget_amount = derive_budget(profile, acts, sales, book)
    timeline, timeline_days = derive_timeline(profile, sales, book, now)
    derived = {
        ConditionKind.NEED: need,
        ConditionKind.AUTHORITY: authority,
        ConditionKind.BUDGET: budget,
        ConditionKind.TIMELINE: timeline,
    }

    conditions: list[ConditionResult] = []
    for spec in criteria.decision.conditions:
        if spec.kind is ConditionKind.FIT:
            threshold = spec.threshold or 0.0
            held: bool | None = True if fit >= threshold else (False if fit_best < threshold else None)
            why = f"fit {fit:g} of 100 (at best {fit_best:g} once all facts are known), needs {threshold:g}"
            found = Finding(held, f"{fit:g}", Source.SCORE, why)
        elif spec.kind is ConditionKind.ENGAGEMENT:
            threshold = spec.threshold or 0.0
            why = f"engagement {engagement:g}, needs {threshold:g}"
            found = Finding(engagement >= threshold, f"{engagement:g}", Source.SCORE, why)
        else:
            found = derived[spec.kind]
        conditions.append(
            ConditionResult(
                name=spec.name,
                kind=spec.kind,
                held=found.held,
                value=found.value,
                source=found.source,
                explanation=found.explanation,
            )
        )

    reasons = [
        f"criteria version {criteria.version}",
        f"fit score {fit:g}/100, engagement score {engagement:g}",
    ]
    for rule in fit_rules:
        reasons.append(
            f"ICP {rule.name}{' (required)' if rule.required else ''}: {_RULE_STATES[rule.held]}"
            + (f" ({rule.value})" if rule.value else "")
        )
    for cond in conditions:
        reasons.append(f"{cond.name}: {_CONDITION_STATES[cond.held]} — {cond.explanation}")

    outcome, reason = Outcome.UNDECIDED, None
    invalid = find_invalidity(profile, criteria.validity)
    failed_required = [r for r in fit_rules if r.required and r.held is False]
    if invalid is not None:
        outcome, reason = Outcome.UNQUALIFIED, DisqualificationReason.INVALID
        reasons.append(f"invalid: {invalid}")
    elif failed_required:
        outcome, reason = Outcome.UNQUALIFIED, DisqualificationReason.NOT_ICP
        reasons.append(
            "not the ideal customer: required "
            + ", ".join(f"{r.name} ({r.value})" for r in failed_required)
            + " does not match"
        )
    elif all(c.held is True for c in conditions):
        outcome = Outcome.QUALIFIED
        reasons.append("qualified: every condition holds")
    else:
        specs = book.specs
        failing = next((c for c in conditions if c.held is False and specs[c.name].reason is not None), None)
        if failing is not None:
            outcome, reason = Outcome.UNQUALIFIED, specs[failing.name].reason
            reasons.append(f"unqualified ({reason}): {failing.name} does not hold")
        else:
            waiting = [c.name for c in conditions if c.held is not True]
            reasons.append("undecided, waiting for: " + ", ".join(waiting))

    return Decision(
        outcome=outcome,
        reason=reason,
        nurturable=criteria.is_nurturable(reason) if reason is not None else None,
        fit_score=fit,
        engagement_score=engagement,
        fit_rules=fit_rules,
        conditions=tuple(conditions),
        need=need.held,
        authority=authority.held,
        budget=budget.held,
        budget_amount=budget_amount,
        timeline_days=timeline_days,
        criteria_version=criteria.version,
        evaluated_at=now,
        reasons=tuple(reasons),
    )


def next_statuses(
    catalog: StatusCatalog, current: str | None, decision: Decision, *, reopen: bool = False
) -> tuple[str, ...]:
    """The statuses the lead passes through to reach the decision's target (empty: no change).

    Leads in a terminal status stay put unless `reopen` (a trigger re-opens archived leads); an undecided
    decision never moves a lead; a new lead (current None) enters `open` first.
    """
    goal = decision.target_category()
    start = BaseCategory.OPEN if current is None else catalog.category_of(current)
    entry = (catalog.default_for(BaseCategory.OPEN).name,) if current is None else ()
    if start in (BaseCategory.CONVERTED, BaseCategory.ARCHIVED) and not reopen:
        return entry
    if goal is None or goal is start:
        return entry
    path = category_path(start, goal)
    if path is None:
        return entry
    return entry + tuple(catalog.default_for(category).name for category in path)
