import json
from typing import Any

import pytest

from leadflow_qualification.domain.criteria import (
    DEFAULT_CRITERIA,
    Criteria,
    InvalidCriteria,
    parse_criteria,
    revise_criteria,
)
from leadflow_shared.contracts.events import DisqualificationReason


def _default_as_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_CRITERIA.model_dump_json())
    return data


def _problems(data: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(InvalidCriteria) as refused:
        parse_criteria(data)
    return refused.value.problems


def test_the_default_criteria_survive_a_round_trip_through_json():
    assert parse_criteria(DEFAULT_CRITERIA.model_dump_json()) == DEFAULT_CRITERIA


def test_the_default_weights_add_up_to_one_hundred():
    assert DEFAULT_CRITERIA.fit.total_weight == 100


def test_not_icp_and_invalid_are_not_nurturable_by_default():
    assert not DEFAULT_CRITERIA.is_nurturable(DisqualificationReason.NOT_ICP)
    assert not DEFAULT_CRITERIA.is_nurturable(DisqualificationReason.INVALID)
    assert DEFAULT_CRITERIA.is_nurturable(DisqualificationReason.NO_BUDGET)


def test_an_unknown_field_is_named():
    data = _default_as_json()
    data["fit"]["favourite_colour"] = "teal"
    assert _problems(data) == ("fit.favourite_colour: unknown field",)


def test_a_weight_above_one_hundred_is_refused():
    data = _default_as_json()
    data["fit"]["industry"]["weight"] = 150
    assert _problems(data) == ("fit.industry.weight: weight must be between 0 and 100, got 150",)


def test_a_negative_weight_is_refused():
    data = _default_as_json()
    data["fit"]["country"]["weight"] = -5
    assert _problems(data) == ("fit.country.weight: weight must be between 0 and 100, got -5",)


def test_a_size_range_with_min_above_max_can_never_hold():
    data = _default_as_json()
    data["fit"]["company_size"] = {"weight": 20, "min_employees": 500, "max_employees": 50}
    (problem,) = _problems(data)
    assert problem.startswith("fit.company_size: company size rule can never hold")


def test_a_required_industry_rule_with_no_industries_can_never_hold():
    data = _default_as_json()
    data["fit"]["industry"] = {"weight": 0, "required": True, "industries": []}
    (problem,) = _problems(data)
    assert "industry rule can never hold" in problem


def test_a_fit_threshold_above_one_hundred_can_never_hold():
    data = _default_as_json()
    data["decision"]["conditions"][0]["threshold"] = 120
    (problem,) = _problems(data)
    assert "above the maximum fit score 100" in problem


def test_an_engagement_threshold_above_the_cap_can_never_hold():
    data = _default_as_json()
    data["engagement"]["cap"] = 50
    data["decision"]["conditions"].append({"name": "engaged", "kind": "engagement", "threshold": 80})
    (problem,) = _problems(data)
    assert "above the engagement cap 50" in problem


def test_a_half_life_of_zero_days_is_refused():
    data = _default_as_json()
    data["engagement"]["half_life_days"] = 0
    (problem,) = _problems(data)
    assert problem.startswith("engagement.half_life_days:")


def test_a_need_condition_with_a_threshold_is_refused():
    data = _default_as_json()
    data["decision"]["conditions"][1]["threshold"] = 3
    (problem,) = _problems(data)
    assert "takes no threshold" in problem


def test_two_conditions_with_one_name_are_refused():
    data = _default_as_json()
    data["decision"]["conditions"][2]["name"] = data["decision"]["conditions"][1]["name"]
    (problem,) = _problems(data)
    assert "repeated" in problem


def test_an_unknown_activity_type_in_engagement_points_is_refused():
    data = _default_as_json()
    data["engagement"]["points"]["carrier_pigeon"] = 5
    assert any(p.startswith("engagement.points.carrier_pigeon") for p in _problems(data))


def test_country_codes_are_upper_cased_and_names_refused():
    data = _default_as_json()
    data["fit"]["country"]["countries"] = ["de", "at"]
    assert parse_criteria(data).fit.country is not None
    data["fit"]["country"]["countries"] = ["Germany"]
    (problem,) = _problems(data)
    assert "ISO 3166 alpha-2" in problem


def test_criteria_are_immutable():
    with pytest.raises(ValueError, match="frozen"):
        DEFAULT_CRITERIA.version = 2  # type: ignore[misc]


def test_a_revision_merges_the_changes_into_a_new_version():
    revised = revise_criteria(DEFAULT_CRITERIA, {"fit": {"company_size": {"min_employees": 50}}})
    assert isinstance(revised, Criteria)
    assert revised.version == 2
    assert revised.fit.company_size is not None
    assert revised.fit.company_size.min_employees == 50
    assert revised.fit.company_size.max_employees == 5_000
    assert DEFAULT_CRITERIA.version == 1


def test_a_revision_that_breaks_the_criteria_is_refused():
    with pytest.raises(InvalidCriteria, match="can never hold"):
        revise_criteria(DEFAULT_CRITERIA, {"fit": {"company_size": {"min_employees": 9_000}}})
