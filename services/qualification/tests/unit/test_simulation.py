from datetime import UTC, datetime

from leadflow_qualification.domain.criteria import DEFAULT_CRITERIA, revise_criteria
from leadflow_qualification.domain.facts import LeadFacts
from leadflow_qualification.domain.simulation import SimulationScope, StoredLead, simulate
from leadflow_qualification.domain.statuses import DEFAULT_CATALOG
from leadflow_shared.contracts.lead import LeadProfile, QualifyingAnswers

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
READY = QualifyingAnswers(need="Leads get lost", authority="Decision Maker", budget="€50k")


def stored(lead_id: str, status: str, answers=QualifyingAnswers(), **profile) -> StoredLead:
    base = {
        "email": f"{lead_id}@acme.example",
        "country": "DE",
        "industry": "Software",
        "company_size": 250,
        "seniority": "director",
    }
    facts = LeadFacts(profile=LeadProfile(**{**base, **profile}, answers=answers))
    return StoredLead(lead_id=lead_id, facts=facts, status=status)


LEADS = [
    stored("ada", "open", READY),
    stored("ben", "open", READY),
    stored("cleo", "open"),
    stored("dev", "open", country="BR"),
    stored("eli", "contacted", QualifyingAnswers(budget="under 5k")),
    stored("fay", "converted", READY),
    stored("gus", "archived", READY),
]


def test_open_only_counts_each_move_of_the_open_leads():
    result = simulate(LEADS, DEFAULT_CRITERIA, DEFAULT_CATALOG, NOW)
    moves = {(c.from_status, c.to_status): c.count for c in result.changes}
    assert moves == {("open", "qualified"): 2, ("open", "archived"): 1}
    assert (result.evaluated, result.unchanged, result.out_of_scope, result.changed) == (4, 1, 3, 3)


def test_non_terminal_scope_also_rejudges_contacted_leads_but_never_converted_or_archived():
    result = simulate(LEADS, DEFAULT_CRITERIA, DEFAULT_CATALOG, NOW, scope=SimulationScope.NON_TERMINAL)
    moves = {(c.from_status, c.to_status): c.count for c in result.changes}
    assert moves[("contacted", "nurturing")] == 1
    assert result.out_of_scope == 2


def test_samples_are_capped_per_move():
    result = simulate(LEADS, DEFAULT_CRITERIA, DEFAULT_CATALOG, NOW, max_samples=1)
    to_qualified = next(c for c in result.changes if c.to_status == "qualified")
    assert to_qualified.count == 2
    assert to_qualified.samples == ("ada",)


def test_raising_the_budget_minimum_sends_fifty_thousand_euro_leads_to_nurture_instead():
    stricter = revise_criteria(DEFAULT_CRITERIA, {"qualifying": {"budget": {"min_amount": "60000"}}})
    result = simulate(LEADS, stricter, DEFAULT_CATALOG, NOW)
    assert result.criteria_version == 2
    moves = {(c.from_status, c.to_status): c.samples for c in result.changes}
    assert moves[("open", "nurturing")] == ("ada", "ben")
    assert ("open", "qualified") not in moves


def test_the_biggest_move_comes_first():
    result = simulate(LEADS, DEFAULT_CRITERIA, DEFAULT_CATALOG, NOW)
    assert [c.count for c in result.changes] == [2, 1]
