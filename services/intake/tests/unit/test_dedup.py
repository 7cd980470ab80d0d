import itertools

import pytest

from leadflow_devstack.builders import profile
from leadflow_intake.domain.dedup import (
    IdentityKey,
    IdentityKind,
    MatchDecision,
    MatchOutcome,
    MatchThresholds,
    folded_name,
    identity_keys,
    match,
    merge_profiles,
    worth_comparing,
    worth_comparing_among,
)
from leadflow_shared.contracts.lead import Channel, Consent, LeadProfile, QualifyingAnswers, Touch

DANA = LeadProfile(
    first_name="Dana",
    last_name="Kovacs",
    company="Acme GmbH",
    email="dana@acme.example",
    company_domain="acme.example",
)


def person(first, last, company, email=None, domain=None, phone=None):
    """Someone at a company, known by as much as is given."""
    return profile(
        first_name=first, last_name=last, company=company, email=email, company_domain=domain, phone=phone
    )


def test_identity_keys_are_email_phone_and_the_source_id():
    from datetime import UTC, datetime

    touch = Touch(
        channel=Channel.PAID_ADS,
        source_system="meta",
        source_id="123",
        occurred_at=datetime(2025, 3, 4, tzinfo=UTC),
    )
    keys = identity_keys(DANA.model_copy(update={"phone": "+14155550123"}), touch)
    assert keys == {
        IdentityKey(IdentityKind.EMAIL, "dana@acme.example"),
        IdentityKey(IdentityKind.PHONE, "+14155550123"),
        IdentityKey(IdentityKind.SOURCE, "meta:123"),
    }


def test_the_same_email_merges_whatever_the_names_say():
    decision = match(person("D.", "K.", None, email="dana@acme.example"), [("lead-1", DANA)])
    assert (decision.outcome, decision.candidate, decision.score) == (MatchOutcome.MERGE, "lead-1", 100.0)


def test_the_same_person_at_the_same_company_spelled_differently_merges():
    newcomer = person("Dana", "Kovács", "ACME")
    decision = match(newcomer, [("lead-1", DANA)])
    assert decision.outcome is MatchOutcome.MERGE
    assert decision.candidate == "lead-1"


def test_the_same_name_and_company_with_another_email_address_goes_to_review_not_merge():
    newcomer = person("Dana", "Kovács", "ACME", email="dana.kovacs@gmail.com")
    decision = match(newcomer, [("lead-1", DANA)])
    assert (decision.outcome, decision.candidate) == (MatchOutcome.REVIEW, "lead-1")
    assert decision.reason == "similar name, different email addresses"


def test_a_look_alike_name_with_another_email_address_is_never_merged_automatically():
    hana = person("Hana", "Novak", "Globex", email="hana@globex.example")
    hanna = person("Hanna", "Novak", "Globex", email="hanna.novak@gmail.com")
    assert match(hanna, [("lead-1", hana)]).outcome is MatchOutcome.REVIEW


def test_two_email_addresses_still_merge_when_a_shared_phone_and_the_names_agree():
    stored = person("Dana", "Kovacs", "Acme", email="dana@acme.example", phone="+4930123456")
    newcomer = person("Dana", "Kovacs", "Acme", email="dana.kovacs@gmail.com", phone="+4930123456")
    decision = match(newcomer, [("lead-1", stored)])
    assert (decision.outcome, decision.reason) == (MatchOutcome.MERGE, "same phone number")


def test_a_close_spelling_at_the_same_company_goes_to_review():
    decision = match(
        person("Jon", "Smith", "Kovacs Logistik GmbH"),
        [("lead-7", person("John", "Smyth", "Kovacs Logistik"))],
    )
    assert decision.outcome is MatchOutcome.REVIEW
    assert decision.candidate == "lead-7"


@pytest.mark.parametrize(
    ("newcomer", "existing"),
    [
        (person("Dana", "Kovacs", "Initech"), DANA),
        (person("Peter", "Gibbons", "Acme GmbH"), DANA),
        (person("Jon", "Smith", "Initech"), person("John", "Smyth", "Globex")),
        (person("Dana", "Kovacs", None), DANA),
        (person("Dana", "Kovacs", "Acme GmbH", email="dana.k@acme.example", domain="acme.example"), DANA),
        (person("Maria", "Schmidt", "Schmidt & Partner"), person("Mario", "Schmitt", "Schmitz AG")),
    ],
)
def test_near_misses_do_not_merge(newcomer, existing):
    assert match(newcomer, [("lead-1", existing)]).outcome is not MatchOutcome.MERGE


def test_with_no_candidates_the_lead_is_new():
    decision: MatchDecision[str] = match(DANA, [])
    assert (decision.outcome, decision.candidate) == (MatchOutcome.NEW, None)


def test_a_shared_switchboard_phone_with_a_different_name_only_goes_to_review():
    a = person("Dana", "Kovacs", "Acme", phone="+4930123456")
    b = person("Peter", "Gibbons", "Acme", phone="+4930123456")
    assert match(a, [("lead-2", b)]).outcome is MatchOutcome.REVIEW


def test_thresholds_are_configurable():
    newcomer = person("Jon", "Smith", "Kovacs Logistik")
    existing = person("John", "Smith", "Kovacs Logistik")
    assert (
        match(newcomer, [("x", existing)], MatchThresholds(merge=99, review=90)).outcome
        is MatchOutcome.REVIEW
    )
    assert (
        match(newcomer, [("x", existing)], MatchThresholds(merge=90, review=80)).outcome is MatchOutcome.MERGE
    )


def test_thresholds_must_be_ordered():
    with pytest.raises(ValueError, match="review <= merge"):
        MatchThresholds(merge=70, review=90)


def test_merging_fills_the_survivors_gaps_without_overwriting():
    survivor = DANA.model_copy(update={"consent": Consent(email=True), "custom_fields": {"badge_id": "HM-1"}})
    other = LeadProfile(
        first_name="Danielle",
        email="dana.kovacs@gmail.com",
        phone="+14155550123",
        job_title="Head of Ops",
        seniority="director",
        consent=Consent(email=False, phone=True),
        answers=QualifyingAnswers(budget="50k"),
        custom_fields={"badge_id": "HM-2", "webinar": "Q2"},
        is_test=True,
    )
    merged = merge_profiles(survivor, other)
    assert merged.first_name == "Dana"
    assert merged.email == "dana@acme.example"
    assert merged.phone == "+14155550123"
    assert merged.seniority == "director"
    assert merged.consent == Consent(email=True, phone=True)
    assert merged.answers.budget == "50k"
    assert merged.custom_fields == {"badge_id": "HM-1", "webinar": "Q2"}
    assert merged.is_test is False


NAMES = [
    ("Dana", "Kovács"),
    ("Dana", "Kovacs"),
    ("Diana", "Kovac"),
    ("Tomas", "Berg"),
    ("Tobias", "Berg"),
    (None, None),
]
CONTACTS = [
    ("dana@acme.example", None),
    ("d.k@gmail.com", "+4915112345678"),
    (None, "+4915112345678"),
    (None, None),
]


@pytest.mark.parametrize(("first", "last"), NAMES)
@pytest.mark.parametrize(("email", "phone"), CONTACTS)
def test_a_candidate_not_worth_comparing_never_comes_out_as_more_than_a_new_lead(
    first: str | None, last: str | None, email: str | None, phone: str | None
) -> None:
    new = DANA.model_copy(update={"phone": "+4915112345678"})
    candidate = person(first, last, "ACME", email=email, domain="acme.example", phone=phone)
    thresholds = MatchThresholds()
    if not worth_comparing(new, first, last, email, phone, thresholds):
        assert match(new, [("c", candidate)], thresholds).outcome is MatchOutcome.NEW


# Review thresholds at and just above a score the grid reaches ("Dana Kov" to "Dana Kovacs"), and others.
@pytest.mark.parametrize("review", [0.0, 80.0, 84.21052631578947, 84.21052631578948, 100.0])
def test_many_candidates_are_worth_comparing_together_exactly_when_they_are_one_by_one(review: float) -> None:
    thresholds = MatchThresholds(merge=100.0, review=review)
    new = DANA.model_copy(update={"phone": "+4915112345678"})
    names = [*NAMES, ("Dan", "Kovacs"), ("Dana", "Kov"), ("Kovacs", "Dana"), ("D", None)]
    contacts = [*CONTACTS, (" DANA@acme.example ", " +4915112345678")]
    stored = [
        (n, first, last, email, phone)
        for n, ((first, last), (email, phone)) in enumerate(itertools.product(names, contacts))
    ]
    one_by_one = {
        n
        for n, first, last, email, phone in stored
        if worth_comparing(new, first, last, email, phone, thresholds)
    }
    folded = [(n, folded_name(first, last), email, phone) for n, first, last, email, phone in stored]
    assert worth_comparing_among(new, folded, thresholds) == one_by_one
    assert 0 < len(one_by_one) < len(stored) or review == 0.0
