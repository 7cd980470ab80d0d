"""Opportunity criteria, contact signals, amount estimation and expected close date."""

from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest
from pydantic import ValidationError

from leadflow_devstack.builders import profile, qualified
from leadflow_opportunity.domain.criteria import (
    DEFAULT_OPPORTUNITY_CRITERIA,
    AmountBasis,
    AmountRules,
    Condition,
    ContactSignals,
    OpportunityCriteria,
    SalesSignals,
    SizeBand,
    check,
    decide_opportunity,
    estimate_amount,
    expected_close_date,
    signals_from_qualified,
)

TODAY = date(2026, 11, 27)
WILE = UUID("00000000-0000-0000-0000-0000000c0e01")


# Wile E. Coyote of Acme, qualified through HubSpot under the third criteria.
WILE_E = {
    "lead_id": WILE,
    "profile": profile(
        first_name="Wile E.", last_name="Coyote", company="Acme GmbH", company_size=120, email="wile@acme.com"
    ),
    "engagement_score": 64.0,
    "source_system": "hubspot",
    "criteria_version": 3,
}


def refusal(data: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as caught:
        OpportunityCriteria.model_validate(data)
    return str(caught.value)


def test_the_default_criteria_check_every_condition() -> None:
    assert DEFAULT_OPPORTUNITY_CRITERIA.enabled() == tuple(Condition)
    assert DEFAULT_OPPORTUNITY_CRITERIA.timeline_within_days == 90


def test_criteria_come_from_plain_data() -> None:
    criteria = OpportunityCriteria.model_validate(
        {"version": 4, "need_documented": False, "fit_above": 70, "amount": {"default_amount": "20000"}}
    )

    assert criteria.enabled() == (
        Condition.BUDGET_CONFIRMED,
        Condition.DECISION_MAKER_ENGAGED,
        Condition.TIMELINE_WITHIN_DAYS,
        Condition.FIT_ABOVE,
    )
    assert criteria.amount.default_amount == Decimal("20000")


def test_an_unknown_field_is_refused_by_name() -> None:
    assert "unknown field 'budget_confirmd'" in refusal({"version": 2, "budget_confirmd": True})


def test_an_unknown_field_inside_the_amount_rules_is_refused_by_name() -> None:
    assert "unknown field 'default'" in refusal({"version": 2, "amount": {"default": 5}})


def test_negative_timeline_days_are_refused() -> None:
    assert "timeline_within_days must not be negative days, got -30" in refusal(
        {"version": 2, "timeline_within_days": -30}
    )


@pytest.mark.parametrize("threshold", [-1, 120])
def test_a_fit_threshold_outside_0_to_100_is_refused(threshold: int) -> None:
    assert "fit_above must be within 0-100" in refusal({"version": 2, "fit_above": threshold})


def test_a_fit_threshold_of_100_is_refused_as_it_can_never_hold() -> None:
    assert "can never hold" in refusal({"version": 2, "fit_above": 100})


def test_a_size_band_whose_top_is_below_its_bottom_is_refused_as_it_can_never_hold() -> None:
    message = refusal(
        {"version": 2, "amount": {"size_bands": [{"min_employees": 200, "max_employees": 50, "amount": 1}]}}
    )
    assert "size band 200-50 can never hold" in message


def test_overlapping_size_bands_are_refused() -> None:
    bands = [
        {"min_employees": 1, "max_employees": 100, "amount": 10000},
        {"min_employees": 50, "max_employees": 500, "amount": 30000},
    ]
    assert "size bands overlap: 1-100 and 50-500" in refusal({"version": 2, "amount": {"size_bands": bands}})


def test_version_zero_is_refused() -> None:
    assert "version" in refusal({"version": 0})


def test_a_fully_qualified_lead_meets_the_default_criteria_and_each_condition_is_listed() -> None:
    signals = signals_from_qualified(qualified(WILE_E), TODAY)

    result = check(DEFAULT_OPPORTUNITY_CRITERIA, signals, TODAY)

    assert result.met
    assert result.criteria_version == 1
    listed = {r.condition: (r.value, r.held) for r in result.conditions}
    assert listed == {
        Condition.BUDGET_CONFIRMED: (True, True),
        Condition.DECISION_MAKER_ENGAGED: (True, True),
        Condition.NEED_DOCUMENTED: (True, True),
        Condition.TIMELINE_WITHIN_DAYS: (date(2027, 1, 11), True),
        Condition.FIT_ABOVE: (82.0, True),
    }


def test_a_lead_missing_budget_gets_no_opportunity_until_a_signal_completes_it() -> None:
    from_qualification = signals_from_qualified(
        qualified(WILE_E, budget_amount=None, budget_confirmed=False), TODAY
    )

    before = decide_opportunity(DEFAULT_OPPORTUNITY_CRITERIA, from_qualification, TODAY)
    assert not before.open
    assert before.result.unmet == (Condition.BUDGET_CONFIRMED,)
    assert before.amount is None
    assert before.close_date is None

    call_notes = SalesSignals(budget_confirmed=True, budget_amount=Decimal("52500.00"))
    later = date(2026, 12, 3)
    signals = from_qualification.merged_with(call_notes.to_signals(later))
    after = decide_opportunity(DEFAULT_OPPORTUNITY_CRITERIA, signals, later)

    assert after.open
    assert after.amount is not None
    assert after.amount.amount == Decimal("52500.00")
    assert after.amount.basis is AmountBasis.BUDGET
    assert after.close_date == date(2027, 1, 11)


def test_disabled_conditions_are_neither_checked_nor_listed() -> None:
    criteria = OpportunityCriteria(
        version=2, budget_confirmed=False, timeline_within_days=None, fit_above=None
    )
    signals = ContactSignals(authority=True, need=True)

    result = check(criteria, signals, TODAY)

    assert result.met
    assert [r.condition for r in result.conditions] == [
        Condition.DECISION_MAKER_ENGAGED,
        Condition.NEED_DOCUMENTED,
    ]


def test_fit_must_be_strictly_above_the_threshold() -> None:
    result = check(DEFAULT_OPPORTUNITY_CRITERIA, ContactSignals(fit_score=50.0), TODAY)

    fit = next(r for r in result.conditions if r.condition is Condition.FIT_ABOVE)
    assert not fit.held
    assert fit.required == "above 50"


def test_a_decision_beyond_the_window_fails_the_timeline_condition() -> None:
    signals = signals_from_qualified(qualified(WILE_E, timeline_days=120), TODAY)

    result = check(DEFAULT_OPPORTUNITY_CRITERIA, signals, TODAY)

    assert result.unmet == (Condition.TIMELINE_WITHIN_DAYS,)


def test_an_unknown_timeline_fails_the_timeline_condition() -> None:
    signals = signals_from_qualified(qualified(WILE_E, timeline_days=None), TODAY)

    assert check(DEFAULT_OPPORTUNITY_CRITERIA, signals, TODAY).unmet == (Condition.TIMELINE_WITHIN_DAYS,)


def test_a_timeline_is_pinned_to_the_day_it_was_given_and_comes_closer() -> None:
    signals = signals_from_qualified(qualified(WILE_E, timeline_days=120), TODAY)
    two_months_on = date(2027, 1, 27)

    assert check(DEFAULT_OPPORTUNITY_CRITERIA, signals, two_months_on).met
    assert expected_close_date(signals, two_months_on) == date(2027, 3, 27)


def test_newer_known_signals_win_and_unknown_ones_erase_nothing() -> None:
    older = ContactSignals(
        budget_amount=Decimal("30000"), budget_confirmed=True, authority=True, fit_score=70
    )
    newer = ContactSignals(budget_confirmed=False, need=True)

    merged = older.merged_with(newer)

    assert merged == ContactSignals(
        budget_amount=Decimal("30000"), budget_confirmed=False, authority=True, need=True, fit_score=70
    )


def test_a_new_qualification_does_not_unsay_what_sales_confirmed() -> None:
    confirmed_by_sales = ContactSignals(authority=True, budget_confirmed=True)
    requalified = signals_from_qualified(qualified(WILE_E, authority=False, budget_confirmed=False), TODAY)

    merged = confirmed_by_sales.merged_with(requalified)

    assert merged.authority is True
    assert merged.budget_confirmed is True


def test_sales_signals_turn_timeline_days_into_a_decision_date() -> None:
    assert SalesSignals(timeline_days=30).to_signals(TODAY).decision_date == date(2026, 12, 27)


def test_sales_signals_refuse_two_timelines_and_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="not both"):
        SalesSignals(timeline_days=30, decision_date=date(2027, 1, 1))
    with pytest.raises(ValidationError, match="unknown field 'budjet'"):
        SalesSignals.model_validate({"budjet": 5000})


def test_the_amount_is_the_budget_when_known() -> None:
    estimate = estimate_amount(
        AmountRules(), ContactSignals(budget_amount=Decimal("48000"), company_size=9000)
    )

    assert (estimate.amount, estimate.basis) == (Decimal("48000"), AmountBasis.BUDGET)


@pytest.mark.parametrize(
    ("employees", "amount"),
    [
        (1, "10000"),
        (50, "10000"),
        (51, "25000"),
        (120, "25000"),
        (1000, "60000"),
        (4800, "150000"),
        (9000, "300000"),
    ],
)
def test_without_a_budget_the_company_size_band_gives_the_amount(employees: int, amount: str) -> None:
    estimate = estimate_amount(AmountRules(), ContactSignals(company_size=employees))

    assert (estimate.amount, estimate.basis) == (Decimal(amount), AmountBasis.COMPANY_SIZE)


@pytest.mark.parametrize("employees", [None, 0])
def test_without_budget_or_a_fitting_band_the_default_amount_applies(employees: int | None) -> None:
    estimate = estimate_amount(AmountRules(), ContactSignals(company_size=employees))

    assert (estimate.amount, estimate.basis) == (Decimal("15000"), AmountBasis.DEFAULT)


def test_an_organisation_sets_its_own_bands() -> None:
    rules = AmountRules(
        size_bands=(SizeBand(min_employees=1, max_employees=10, amount=Decimal("2500")),),
        default_amount=Decimal("9000"),
    )

    assert estimate_amount(rules, ContactSignals(company_size=8)).amount == Decimal("2500")
    assert estimate_amount(rules, ContactSignals(company_size=80)).amount == Decimal("9000")


def test_the_close_date_is_today_plus_the_timeline() -> None:
    signals = signals_from_qualified(qualified(WILE_E, timeline_days=45), TODAY)

    assert expected_close_date(signals, TODAY) == date(2027, 1, 11)


@pytest.mark.parametrize(
    ("today", "quarter_end"),
    [
        (date(2026, 11, 27), date(2026, 12, 31)),
        (date(2026, 2, 10), date(2026, 3, 31)),
        (date(2026, 6, 30), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 9, 30)),
    ],
)
def test_without_a_timeline_the_close_date_is_the_end_of_the_quarter(today: date, quarter_end: date) -> None:
    assert expected_close_date(ContactSignals(), today) == quarter_end


def test_a_decision_date_already_past_gives_the_end_of_the_quarter() -> None:
    signals = ContactSignals(decision_date=date(2026, 10, 15))

    assert expected_close_date(signals, TODAY) == date(2026, 12, 31)


def test_criteria_survive_a_round_trip_through_json() -> None:
    stored = DEFAULT_OPPORTUNITY_CRITERIA.model_dump_json()

    assert OpportunityCriteria.model_validate_json(stored) == DEFAULT_OPPORTUNITY_CRITERIA
