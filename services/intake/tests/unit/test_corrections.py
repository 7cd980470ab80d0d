from datetime import UTC, datetime, timedelta

from leadflow_intake.domain.corrections import Correction, apply_correction, read_correction
from leadflow_intake.domain.normalise import Rejected
from leadflow_intake.domain.updates import apply_submission
from leadflow_shared.contracts.lead import LeadProfile, QualifyingAnswers

FIRST = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = FIRST + timedelta(days=10)
STORED = LeadProfile(
    first_name="Dana",
    last_name="Kovacs",
    email="dana@acme-robotics.example",
    company_domain="acme-robotics.example",
    job_title="Engineer",
    seniority="individual",
    country="DE",
    answers=QualifyingAnswers(budget="no budget", need="a CRM"),
    custom_fields={"plan": "trial", "badge": "B-17"},
)


def read(**fields: object) -> Correction:
    found = read_correction(fields, lead_country=STORED.country, default_region="US")
    assert isinstance(found, Correction)
    return found


def test_given_values_replace_the_stored_ones_and_are_named_as_changed():
    update = apply_correction(
        STORED, read(country="Austria", answers={"budget": "EUR 80,000"}), NOW, as_of={"country": FIRST}
    )
    assert (update.profile.country, update.profile.answers.budget) == ("AT", "EUR 80,000")
    assert update.profile.answers.need == "a CRM"
    assert update.changed == ("country", "answers.budget")
    assert update.as_of == {"country": NOW, "answers.budget": NOW}


def test_a_value_equal_to_the_stored_one_changes_nothing():
    update = apply_correction(STORED, read(country="Germany", first_name=" Dana "), NOW, as_of={})
    assert update.changed == ()
    assert update.profile == STORED


def test_an_explicit_null_clears_a_field_an_answer_or_a_custom_field():
    update = apply_correction(
        STORED, read(job_title=None, answers={"need": None}, custom_fields={"badge": None}), NOW, as_of={}
    )
    assert update.profile.job_title is None
    assert update.profile.answers.need is None
    assert update.profile.custom_fields == {"plan": "trial"}
    assert set(update.changed) == {"job_title", "answers.need", "custom_fields.badge", "seniority"}


def test_derived_fields_follow_the_corrected_email_and_title():
    update = apply_correction(
        STORED,
        read(email="Dana@Kovacs-Consulting.example", job_title="Chief Operating Officer"),
        NOW,
        as_of={},
    )
    assert update.profile.email == "dana@kovacs-consulting.example"
    assert update.profile.company_domain == "kovacs-consulting.example"
    assert update.profile.seniority == "c_level"
    assert "company_domain" in update.changed
    assert "seniority" in update.changed


def test_a_national_phone_is_read_in_the_corrected_country_then_the_leads_then_the_default_region():
    assert read(phone="030 1234567").values["phone"] == "+49301234567"
    assert read(phone="01 42 68 53 00", country="France").values["phone"] == "+33142685300"
    found = read_correction({"phone": "(312) 555-0147"}, lead_country=None, default_region="US")
    assert isinstance(found, Correction)
    assert found.values["phone"] == "+13125550147"


def test_an_invalid_email_phone_or_country_is_refused_naming_each_field():
    found = read_correction(
        {"email": "not-an-address", "phone": "12", "country": "Atlantis"},
        lead_country=None,
        default_region=None,
    )
    assert isinstance(found, Rejected)
    assert [p.field for p in found.problems] == ["country", "email", "phone"]


def test_a_field_cleared_by_a_correction_is_filled_again_only_by_a_later_submission():
    cleared = apply_correction(STORED, read(job_title=None), NOW, as_of={})
    older = apply_submission(
        cleared.profile,
        LeadProfile(job_title="Engineer"),
        NOW - timedelta(days=1),
        as_of=cleared.as_of,
        baseline=FIRST,
    )
    assert older.profile.job_title is None
    assert older.changed == ()
    later = apply_submission(
        cleared.profile,
        LeadProfile(job_title="CTO"),
        NOW + timedelta(days=1),
        as_of=cleared.as_of,
        baseline=FIRST,
    )
    assert later.profile.job_title == "CTO"
