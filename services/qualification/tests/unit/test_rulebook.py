"""What judging works out once per criteria version, per keyword list and per pair of categories."""

from datetime import UTC, datetime

from leadflow_qualification.domain.answers import KeywordList, keyword_list, matches_any
from leadflow_qualification.domain.criteria import DEFAULT_CRITERIA, revise_criteria
from leadflow_qualification.domain.decision import Outcome, Rulebook, evaluate
from leadflow_qualification.domain.facts import LeadFacts
from leadflow_qualification.domain.staleness import DEFAULT_STALENESS_LIMITS
from leadflow_qualification.domain.statuses import DEFAULT_CATALOG, BaseCategory, category_path
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases.config import Config
from leadflow_shared.contracts.lead import LeadProfile, QualifyingAnswers

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

MARTA = LeadFacts(
    profile=LeadProfile(
        first_name="Marta",
        email="marta@porto-cargo.example",
        seniority="director",
        country="DE",
        industry="Logistics",
        company_size=80,
        answers=QualifyingAnswers(
            need="Our quotes take a week", authority="I sign", budget="€30k", timeline="this quarter"
        ),
    )
)


def test_a_config_carries_the_rulebook_of_its_criteria():
    config = cfg.DEFAULT_CONFIG
    assert config.rulebook.criteria is config.criteria
    stricter = revise_criteria(DEFAULT_CRITERIA, {"qualifying": {"budget": {"min_amount": "50000"}}})
    revised = Config(stricter, DEFAULT_CATALOG, 0, None, 0, DEFAULT_STALENESS_LIMITS, 0)
    assert revised.rulebook.criteria is stricter


def test_a_revised_version_is_judged_by_its_own_rulebook():
    stricter = Rulebook.of(
        revise_criteria(DEFAULT_CRITERIA, {"qualifying": {"budget": {"min_amount": "50000"}}})
    )
    default = Rulebook.of(DEFAULT_CRITERIA)
    assert evaluate(MARTA, (), None, default, NOW).outcome is Outcome.QUALIFIED
    assert evaluate(MARTA, (), None, stricter, NOW).outcome is Outcome.UNQUALIFIED
    assert stricter.minimum_budget == "50000 EUR"
    assert default.minimum_budget == "10000 EUR"


def test_a_rulebook_weighs_the_fit_rules_as_the_criteria_do():
    book = Rulebook.of(DEFAULT_CRITERIA)
    assert book.total_weight == DEFAULT_CRITERIA.fit.total_weight == 100
    assert [name for name, _, _ in book.fit] == [name for name, _ in DEFAULT_CRITERIA.fit.rules()]


def test_a_keyword_list_finds_the_first_keyword_of_the_list_not_the_first_in_the_text():
    words = KeywordList(("decision maker", "no"))
    assert words.first_in("no, but i am the decision maker") == "decision maker"
    assert words.first_in("no idea") == "no"


def test_a_keyword_list_finds_only_whole_words():
    words = KeywordList(("no", "tbd"))
    assert words.first_in("i know what we need") is None
    assert words.first_in("tbd.") == "tbd"
    assert KeywordList(()).first_in("anything") is None


def test_a_keyword_list_is_compiled_once_per_list():
    assert keyword_list(("yes", "approved")) is keyword_list(("yes", "approved"))
    assert keyword_list(("yes", "approved")) is not keyword_list(("approved", "yes"))


def test_keywords_given_as_a_list_match_as_the_same_tuple_does():
    assert matches_any("Budget is APPROVED", ["yes", "approved"]) == "approved"
    assert matches_any("Budget is APPROVED", ("yes", "approved")) == "approved"


def test_the_path_between_two_categories_is_worked_out_once():
    first = category_path(BaseCategory.ARCHIVED, BaseCategory.QUALIFIED)
    assert first == (BaseCategory.OPEN, BaseCategory.QUALIFIED)
    assert category_path(BaseCategory.ARCHIVED, BaseCategory.QUALIFIED) is first
    assert category_path(BaseCategory.CONVERTED, BaseCategory.OPEN) is None
