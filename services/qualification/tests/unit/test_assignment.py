import pytest

from leadflow_qualification.domain.assignment import (
    AssignmentPolicy,
    RoutingRule,
    Team,
    TeamState,
    assign,
    choose_owner,
)
from leadflow_shared.contracts.lead import LeadProfile

DACH = Team(name="dach", members=("jonas", "lena", "mehmet"), max_open_leads=20)
FINTECH = Team(name="fintech", members=("priya", "tom"))
REST = Team(name="rest_of_world", members=("sam",), max_open_leads=50)
POLICY = AssignmentPolicy(
    rules=(
        RoutingRule(team="fintech", industries=("Financial Services", "fintech")),
        RoutingRule(team="dach", countries=("de", "AT", "CH")),
    ),
    teams=(DACH, FINTECH, REST),
    default_team="rest_of_world",
)


def test_a_german_software_lead_goes_to_the_dach_team():
    result = assign(POLICY, LeadProfile(country="DE", industry="Software"), {})
    assert result.team == "dach"
    assert result.owner == "jonas"
    assert result.reason.startswith("routing rule 2")


def test_the_first_matching_rule_wins_so_a_german_bank_goes_to_fintech():
    assert assign(POLICY, LeadProfile(country="DE", industry="financial  services"), {}).team == "fintech"


def test_a_lead_no_rule_matches_goes_to_the_default_team():
    result = assign(POLICY, LeadProfile(country="BR", industry="Agriculture"), {})
    assert (result.team, result.owner) == ("rest_of_world", "sam")


def test_round_robin_continues_after_the_last_assigned_member():
    assert choose_owner(DACH, TeamState(last_assigned_index=0)) == ("lena", 1)
    assert choose_owner(DACH, TeamState(last_assigned_index=2)) == ("jonas", 0)


def test_a_member_at_the_cap_is_skipped():
    state = TeamState(open_leads={"lena": 20, "mehmet": 3}, last_assigned_index=0)
    assert choose_owner(DACH, state) == ("mehmet", 2)


def test_when_everyone_is_at_the_cap_the_lead_gets_a_team_but_no_owner():
    state = TeamState(open_leads={"jonas": 20, "lena": 25, "mehmet": 20}, last_assigned_index=1)
    result = assign(POLICY, LeadProfile(country="AT"), {"dach": state})
    assert result.team == "dach"
    assert result.owner is None
    assert "20 open leads" in result.reason


def test_a_team_without_a_cap_always_has_room():
    assert choose_owner(
        FINTECH, TeamState(open_leads={"priya": 900, "tom": 1200}, last_assigned_index=0)
    ) == (
        "tom",
        1,
    )


def test_a_policy_that_routes_to_a_missing_team_is_refused():
    with pytest.raises(ValueError, match="unknown teams: \\['nordics'\\]"):
        AssignmentPolicy(
            rules=(RoutingRule(team="nordics", countries=("SE",)),),
            teams=(REST,),
            default_team="rest_of_world",
        )


def test_a_team_listing_a_member_twice_is_refused():
    with pytest.raises(ValueError, match="appears twice"):
        Team(name="dach", members=("jonas", "jonas"))
