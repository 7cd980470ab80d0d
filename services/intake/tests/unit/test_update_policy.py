from datetime import UTC, datetime, timedelta

from leadflow_intake.domain.updates import apply_submission, consent_changes
from leadflow_shared.contracts.lead import Consent, ContactChannel, LeadProfile, QualifyingAnswers

FIRST = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
STORED = LeadProfile(
    first_name="Dana",
    last_name="Kovacs",
    email="dana@acme.example",
    country="DE",
    company_size=40,
    answers=QualifyingAnswers(need="a CRM"),
    consent=Consent(email=True),
    custom_fields={"plan": "trial"},
)


def submit(new: LeadProfile, at: datetime, stored: LeadProfile = STORED, as_of=None):
    return apply_submission(stored, new, at, as_of=as_of or {}, baseline=FIRST)


def test_a_later_submission_replaces_contact_and_firmographic_fields():
    update = submit(LeadProfile(country="AT", company_size=250), FIRST + timedelta(days=3))
    assert (update.profile.country, update.profile.company_size) == ("AT", 250)
    assert update.changed == ("country", "company_size")
    assert update.as_of["country"] == FIRST + timedelta(days=3)


def test_an_older_submission_only_fills_empty_fields():
    update = submit(LeadProfile(country="FR", job_title="CTO"), FIRST - timedelta(days=1))
    assert (update.profile.country, update.profile.job_title) == ("DE", "CTO")
    assert update.changed == ("job_title",)


def test_a_submission_of_the_same_moment_as_the_stored_value_wins():
    assert submit(LeadProfile(country="CH"), FIRST).profile.country == "CH"


def test_a_value_older_than_its_own_recorded_time_loses_even_if_newer_than_the_lead():
    as_of = {"country": FIRST + timedelta(days=10)}
    update = submit(LeadProfile(country="FR"), FIRST + timedelta(days=5), as_of=as_of)
    assert update.profile.country == "DE"
    assert update.changed == ()


def test_absent_values_never_blank_a_stored_field():
    update = submit(LeadProfile(), FIRST + timedelta(days=1))
    assert update.profile == STORED
    assert update.changed == ()


def test_an_unknown_seniority_says_nothing():
    stored = STORED.model_copy(update={"seniority": "director"})
    update = submit(LeadProfile(seniority="unknown"), FIRST + timedelta(days=1), stored=stored)
    assert update.profile.seniority == "director"


def test_a_new_answer_replaces_the_old_one_and_names_its_path():
    update = submit(
        LeadProfile(answers=QualifyingAnswers(need="a forecast", budget="50k")), FIRST + timedelta(1)
    )
    assert update.profile.answers == QualifyingAnswers(need="a forecast", budget="50k")
    assert set(update.changed) == {"answers.need", "answers.budget"}


def test_an_opt_out_wins_over_an_opt_in_of_the_same_moment():
    update = submit(LeadProfile(consent=Consent(email=False)), FIRST)
    assert update.profile.consent.email is False
    assert update.changed == ("consent.email",)


def test_an_opt_out_loses_to_a_later_opt_in():
    as_of = {"consent.email": FIRST + timedelta(days=2)}
    update = submit(LeadProfile(consent=Consent(email=False)), FIRST + timedelta(days=1), as_of=as_of)
    assert update.profile.consent.email is True


def test_an_opt_in_replaces_an_opt_out_only_when_strictly_later():
    opted_out = STORED.model_copy(update={"consent": Consent(email=False)})
    same_moment = submit(LeadProfile(consent=Consent(email=True)), FIRST, stored=opted_out)
    later = submit(LeadProfile(consent=Consent(email=True)), FIRST + timedelta(seconds=1), stored=opted_out)
    assert (same_moment.profile.consent.email, later.profile.consent.email) == (False, True)


def test_custom_fields_follow_the_rule_key_by_key():
    update = submit(LeadProfile(custom_fields={"plan": "pro", "seats": 12}), FIRST + timedelta(days=1))
    assert update.profile.custom_fields == {"plan": "pro", "seats": 12}
    older = submit(LeadProfile(custom_fields={"plan": "free", "seats": 3}), FIRST - timedelta(days=1))
    assert older.profile.custom_fields == {"plan": "trial", "seats": 3}


def test_one_real_submission_makes_a_test_lead_real():
    stored = STORED.model_copy(update={"is_test": True})
    update = submit(LeadProfile(is_test=False), FIRST + timedelta(days=1), stored=stored)
    assert update.profile.is_test is False
    assert "is_test" in update.changed


def test_the_same_values_again_change_nothing():
    update = submit(STORED, FIRST + timedelta(days=1))
    assert (update.profile, update.changed) == (STORED, ())


def test_a_form_s_opt_out_is_a_consent_change_of_its_channel():
    update = submit(LeadProfile(consent=Consent(email=False, sms=True)), FIRST + timedelta(days=1))
    assert consent_changes(update) == [(ContactChannel.EMAIL, False), (ContactChannel.SMS, True)]


def test_an_opt_out_that_loses_to_a_later_opt_in_is_no_consent_change():
    as_of = {"consent.email": FIRST + timedelta(days=2)}
    update = submit(
        LeadProfile(consent=Consent(email=False), country="PT"), FIRST + timedelta(days=1), as_of=as_of
    )
    assert consent_changes(update) == []
