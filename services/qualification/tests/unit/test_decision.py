from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from leadflow_qualification.domain.criteria import (
    DEFAULT_CRITERIA,
    ConditionKind,
    EngagementRules,
    revise_criteria,
)
from leadflow_qualification.domain.decision import (
    Outcome,
    Rulebook,
    Source,
    evaluate,
    next_statuses,
    score_engagement,
)
from leadflow_qualification.domain.facts import Activity, LeadFacts, SalesInput
from leadflow_qualification.domain.statuses import DEFAULT_CATALOG, BaseCategory
from leadflow_shared.contracts.events import DisqualificationReason
from leadflow_shared.contracts.lead import (
    ActivityType,
    Channel,
    LeadProfile,
    QualifyingAnswers,
    Touch,
    TriggerKind,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

DANA = LeadProfile(
    first_name="Dana",
    last_name="Fischer",
    email="dana@acme.example",
    phone="+4930123456",
    company="Acme GmbH",
    company_domain="acme.example",
    job_title="Head of Ops",
    seniority="director",
    country="DE",
    industry="Software",
    company_size=250,
)
DANA_READY = {
    "need": "Our sales team loses leads in spreadsheets",
    "authority": "Decision Maker",
    "budget": "€50k",
    "timeline": "Within a month",
}


def lead(answers: dict[str, str] | None = None, **profile: object) -> LeadFacts:
    """Dana from Acme, with some answers and profile fields changed."""
    changed = DANA.model_copy(update={**profile, "answers": QualifyingAnswers(**(answers or {}))})
    touch = Touch(channel=Channel.WEB_FORM, source_system="hubspot", occurred_at=NOW - timedelta(hours=2))
    return LeadFacts(profile=changed, touches=(touch,))


def judge(facts: LeadFacts, activities=(), sales=None, criteria=DEFAULT_CRITERIA):
    return evaluate(facts, activities, sales, Rulebook.of(criteria), NOW)


def condition(decision, kind):
    return next(c for c in decision.conditions if c.kind is kind)


def test_a_brand_new_lead_with_no_answers_stays_undecided_instead_of_losing_for_no_need():
    decision = judge(lead())
    assert decision.outcome is Outcome.UNDECIDED
    assert decision.reason is None
    assert decision.target_category() is None
    assert decision.reasons[-1].startswith("undecided, waiting for: has a need")


def test_dana_with_need_authority_and_budget_is_qualified():
    decision = judge(lead(DANA_READY))
    assert decision.outcome is Outcome.QUALIFIED
    assert decision.fit_score == 100
    assert decision.budget_amount == Decimal(50_000)
    assert decision.timeline_days == 30
    assert decision.criteria_version == 1
    assert [c.held for c in decision.conditions] == [True, True, True, True]


def test_every_condition_is_recorded_under_the_name_the_criteria_give_it():
    decision = judge(lead(DANA_READY))
    assert [c.name for c in decision.conditions] == [
        "fits the ideal customer profile",
        "has a need",
        "can decide",
        "has the budget",
    ]
    assert any(line.startswith("has the budget: yes") for line in decision.reasons)


def test_a_lead_from_a_country_we_do_not_serve_is_archived_at_once_as_not_icp():
    decision = judge(lead(country="BR"))
    assert decision.outcome is Outcome.UNQUALIFIED
    assert decision.reason is DisqualificationReason.NOT_ICP
    assert decision.nurturable is False
    assert decision.target_category() is BaseCategory.ARCHIVED


def test_a_country_code_in_lower_case_still_matches():
    assert judge(lead(DANA_READY, country="de")).outcome is Outcome.QUALIFIED


def test_a_country_that_is_not_an_iso_code_is_unknown_not_a_reason_to_disqualify():
    decision = judge(lead(DANA_READY, country="Brasil"))
    country = next(r for r in decision.fit_rules if r.name == "country")
    assert country.held is None
    assert decision.reason is None


def test_a_lead_whose_known_facts_cannot_reach_the_fit_threshold_is_not_icp():
    decision = judge(
        lead(DANA_READY, email="kim@gmail.com", company_size=3, industry="Bakery", seniority="entry")
    )
    assert decision.fit_score == 20
    assert decision.reason is DisqualificationReason.NOT_ICP


def test_a_thin_profile_leaves_fit_unknown_rather_than_failed():
    decision = judge(lead(DANA_READY, industry=None, company_size=None, seniority=None))
    fit = condition(decision, ConditionKind.FIT)
    assert decision.fit_score == 35
    assert fit.held is None
    assert decision.outcome is Outcome.UNDECIDED


def test_a_test_lead_is_invalid_and_never_nurtured():
    decision = judge(lead(DANA_READY, is_test=True))
    assert decision.reason is DisqualificationReason.INVALID
    assert decision.nurturable is False


@pytest.mark.parametrize(
    "profile",
    [
        {"email": "dana@mailinator.com"},
        {"email": "dana-at-acme"},
        {"email": None, "phone": None},
    ],
)
def test_unreachable_or_throwaway_contact_data_is_invalid(profile):
    assert judge(lead(**profile)).reason is DisqualificationReason.INVALID


def test_a_lead_just_browsing_is_unqualified_for_no_need_and_goes_to_nurture():
    decision = judge(lead({"need": "Just browsing, thanks"}))
    assert decision.reason is DisqualificationReason.NO_NEED
    assert decision.nurturable is True
    assert decision.target_category() is BaseCategory.NURTURING


def test_a_demo_request_proves_need_even_after_just_browsing():
    demo = Activity(activity_type=ActivityType.DEMO_REQUESTED, occurred_at=NOW - timedelta(days=1))
    decision = judge(lead({**DANA_READY, "need": "just browsing"}), activities=[demo])
    need = condition(decision, ConditionKind.NEED)
    assert need.held is True
    assert need.source is Source.ACTIVITY
    assert decision.outcome is Outcome.QUALIFIED


def test_an_influencer_has_no_authority():
    decision = judge(lead({**DANA_READY, "authority": "Influencer"}))
    assert decision.reason is DisqualificationReason.NO_AUTHORITY


def test_not_the_decision_maker_is_read_as_no_authority():
    assert judge(lead({**DANA_READY, "authority": "I'm not the decision maker"})).authority is False


@pytest.mark.parametrize("field", ["need", "authority", "budget"])
def test_an_unsure_answer_is_unknown_rather_than_a_no(field):
    decision = judge(lead({**DANA_READY, field: "Not sure yet"}, seniority="manager"))
    assert getattr(decision, field) is None
    assert decision.outcome is Outcome.UNDECIDED


def test_an_unsure_timeline_gives_no_days():
    assert judge(lead({**DANA_READY, "timeline": "no idea, depends on the board"})).timeline_days is None


def test_a_vice_president_has_authority_without_saying_so():
    decision = judge(lead({**DANA_READY, "authority": ""}, seniority="vp"))
    assert condition(decision, ConditionKind.AUTHORITY).source is Source.PROFILE
    assert decision.outcome is Outcome.QUALIFIED


def test_a_junior_title_alone_leaves_authority_unknown():
    decision = judge(lead({**DANA_READY, "authority": ""}, seniority="entry"))
    assert decision.authority is None
    assert decision.outcome is Outcome.UNDECIDED


def test_a_budget_under_the_minimum_is_no_budget():
    decision = judge(lead({**DANA_READY, "budget": "under 5k"}))
    assert decision.reason is DisqualificationReason.NO_BUDGET
    assert decision.budget_amount == Decimal(5_000)


def test_a_budget_range_straddling_the_minimum_is_not_known_yet():
    assert judge(lead({**DANA_READY, "budget": "5-20k"})).budget is None


def test_a_dollar_budget_is_converted_before_comparing():
    decision = judge(lead({**DANA_READY, "budget": "12,000 USD"}))
    assert decision.budget is True
    assert decision.budget_amount == Decimal("11040.00")


def test_a_budget_in_a_currency_without_a_rate_stays_unknown():
    decision = judge(lead({**DANA_READY, "budget": "2,000,000 JPY"}))
    assert decision.budget is None
    assert "no exchange rate from JPY" in condition(decision, ConditionKind.BUDGET).explanation


def test_a_plain_yes_to_budget_counts():
    assert judge(lead({**DANA_READY, "budget": "Yes, approved"})).budget is True


def test_a_budget_approved_trigger_proves_budget():
    trigger = Activity(
        activity_type=ActivityType.TRIGGER, occurred_at=NOW, trigger=TriggerKind.BUDGET_APPROVED
    )
    decision = judge(lead({**DANA_READY, "budget": "no budget"}), activities=[trigger])
    assert condition(decision, ConditionKind.BUDGET).source is Source.ACTIVITY
    assert decision.outcome is Outcome.QUALIFIED


def test_sales_input_overrides_what_the_form_said():
    decision = judge(
        lead({**DANA_READY, "budget": "no budget", "authority": "influencer"}),
        sales=SalesInput(budget=True, authority=True, note="CFO joined the call"),
    )
    assert condition(decision, ConditionKind.BUDGET).source is Source.SALES
    assert decision.outcome is Outcome.QUALIFIED


def test_sales_can_disqualify_a_lead_the_form_made_look_ready():
    decision = judge(lead(DANA_READY), sales=SalesInput(need=False))
    assert decision.reason is DisqualificationReason.NO_NEED


def test_the_first_failing_condition_in_order_gives_the_reason():
    decision = judge(lead({**DANA_READY, "need": "no", "budget": "no budget"}))
    assert decision.reason is DisqualificationReason.NO_NEED


def test_a_far_timeline_disqualifies_only_when_the_criteria_ask_for_one():
    facts = lead({**DANA_READY, "timeline": "next year"})
    assert judge(facts).outcome is Outcome.QUALIFIED
    with_timeline = revise_criteria(
        DEFAULT_CRITERIA,
        {
            "decision": {
                "conditions": [
                    *DEFAULT_CRITERIA.model_dump(mode="json")["decision"]["conditions"],
                    {"name": "buys within six months", "kind": "timeline", "reason": "no_need"},
                ]
            }
        },
    )
    decision = judge(facts, criteria=with_timeline)
    assert decision.timeline_days == 399
    assert decision.reason is DisqualificationReason.NO_NEED
    assert decision.criteria_version == 2


def test_an_engagement_condition_without_a_reason_keeps_a_quiet_lead_waiting():
    criteria = revise_criteria(
        DEFAULT_CRITERIA,
        {
            "decision": {
                "conditions": [
                    *DEFAULT_CRITERIA.model_dump(mode="json")["decision"]["conditions"],
                    {"name": "engaged", "kind": "engagement", "threshold": 25},
                ]
            }
        },
    )
    assert judge(lead(DANA_READY), criteria=criteria).outcome is Outcome.UNDECIDED
    webinar = Activity(activity_type=ActivityType.WEBINAR_ATTENDED, occurred_at=NOW)
    pricing = Activity(activity_type=ActivityType.PRICING_PAGE_VISITED, occurred_at=NOW)
    decision = judge(lead(DANA_READY), activities=[webinar, pricing], criteria=criteria)
    assert decision.engagement_score == 25
    assert decision.outcome is Outcome.QUALIFIED


def test_engagement_points_halve_every_half_life():
    rules = EngagementRules(points={ActivityType.DEMO_REQUESTED: 40}, half_life_days=14)
    fresh = Activity(activity_type=ActivityType.DEMO_REQUESTED, occurred_at=NOW)
    two_weeks = Activity(activity_type=ActivityType.DEMO_REQUESTED, occurred_at=NOW - timedelta(days=14))
    four_weeks = Activity(activity_type=ActivityType.DEMO_REQUESTED, occurred_at=NOW - timedelta(days=28))
    assert score_engagement([fresh], rules, NOW) == 40
    assert score_engagement([two_weeks], rules, NOW) == 20
    assert score_engagement([four_weeks], rules, NOW) == 10
    assert score_engagement([fresh, two_weeks, four_weeks], rules, NOW) == 70


def test_engagement_is_capped_and_unscored_activities_count_nothing():
    rules = EngagementRules(points={ActivityType.MEETING_HELD: 30}, half_life_days=30, cap=50)
    meetings = [Activity(activity_type=ActivityType.MEETING_HELD, occurred_at=NOW)] * 3
    opened = Activity(activity_type=ActivityType.EMAIL_OPENED, occurred_at=NOW)
    assert score_engagement(meetings, rules, NOW) == 50
    assert score_engagement([opened], rules, NOW) == 0


def test_an_activity_stamped_in_the_future_counts_as_now():
    rules = EngagementRules(points={ActivityType.CALL_LOGGED: 10}, half_life_days=7)
    early = Activity(activity_type=ActivityType.CALL_LOGGED, occurred_at=NOW + timedelta(hours=3))
    assert score_engagement([early], rules, NOW) == 10


def test_a_new_qualified_lead_enters_open_then_moves_to_qualified():
    assert next_statuses(DEFAULT_CATALOG, None, judge(lead(DANA_READY))) == ("open", "qualified")


def test_a_new_undecided_lead_just_enters_open():
    assert next_statuses(DEFAULT_CATALOG, None, judge(lead())) == ("open",)


def test_a_contacted_lead_without_need_moves_to_nurturing():
    decision = judge(lead({"need": "no need right now"}))
    assert next_statuses(DEFAULT_CATALOG, "contacted", decision) == ("nurturing",)


def test_a_qualified_lead_found_not_icp_passes_unqualified_on_its_way_to_archived():
    assert next_statuses(DEFAULT_CATALOG, "qualified", judge(lead(country="BR"))) == (
        "unqualified",
        "archived",
    )


def test_an_undecided_decision_moves_nobody():
    assert next_statuses(DEFAULT_CATALOG, "contacted", judge(lead())) == ()


def test_an_archived_lead_is_only_reopened_when_asked():
    decision = judge(lead(DANA_READY))
    assert next_statuses(DEFAULT_CATALOG, "archived", decision) == ()
    assert next_statuses(DEFAULT_CATALOG, "archived", decision, reopen=True) == ("open", "qualified")


def test_a_converted_lead_never_moves():
    assert next_statuses(DEFAULT_CATALOG, "converted", judge(lead(country="BR")), reopen=True) == ()


def test_a_lead_in_a_custom_status_of_the_target_category_stays_there():
    catalog = DEFAULT_CATALOG.with_custom_status("sales_ready", "qualified")
    assert next_statuses(catalog, "sales_ready", judge(lead(DANA_READY))) == ()
