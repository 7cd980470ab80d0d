import re
from datetime import UTC, datetime

import pytest
from email_validator import EmailNotValidError, validate_email

from leadflow_intake.domain.normalise import (
    Normalised,
    Rejected,
    Seniority,
    company_domain,
    country_code,
    mail_domain,
    normalise,
    normalise_email,
    parse_company_size,
    received_again,
    seniority_of,
    split_full_name,
)
from leadflow_shared.contracts.lead import Channel, LeadSubmission, QualifyingAnswers

RECEIVED = datetime(2025, 3, 4, 10, 16, tzinfo=UTC)


def normalised(submission: LeadSubmission) -> Normalised:
    result = normalise(submission, received_at=RECEIVED)
    assert isinstance(result, Normalised), result
    return result


def test_a_full_trade_fair_lead_becomes_a_canonical_profile_and_touch():
    result = normalised(
        LeadSubmission(
            full_name="  Dana   Kovacs ",
            email="Dana.Kovacs@ACME.example",
            phone="030 1234567",
            company="Acme GmbH",
            job_title="Head of Operations",
            country="Deutschland",
            industry=" Logistics ",
            company_size=51,
            answers=QualifyingAnswers(budget=" 50k EUR "),
            channel=Channel.TRADE_SHOW,
            source_system="csv",
            source_id="hannover-messe:7",
            custom_fields={"badge_id": "HM-0042"},
        )
    )
    p = result.profile
    assert (p.first_name, p.last_name) == ("Dana", "Kovacs")
    assert p.email == "dana.kovacs@acme.example"
    assert p.phone == "+49301234567"
    assert p.company_domain == "acme.example"
    assert p.seniority == "director"
    assert p.country == "DE"
    assert p.industry == "Logistics"
    assert p.answers.budget == "50k EUR"
    assert p.custom_fields == {"badge_id": "HM-0042"}
    assert result.touch.channel is Channel.TRADE_SHOW
    assert result.touch.source_id == "hannover-messe:7"
    assert result.touch.occurred_at == RECEIVED
    assert result.warnings == ()


def test_a_full_name_is_not_split_when_first_and_last_are_given():
    p = normalised(
        LeadSubmission(first_name="Dana", last_name="Kovacs-Weber", full_name="D. K.", email="d@acme.example")
    )
    assert (p.profile.first_name, p.profile.last_name) == ("Dana", "Kovacs-Weber")


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        ("Dana Kovacs", ("Dana", "Kovacs")),
        ("Kovacs, Dana", ("Dana", "Kovacs")),
        ("Anna Maria Schmidt", ("Anna Maria", "Schmidt")),
        ("Ludwig van Beethoven", ("Ludwig", "van Beethoven")),
        ("Madonna", ("Madonna", None)),
    ],
)
def test_full_names_split_into_first_and_last(full, expected):
    assert split_full_name(full) == expected


def test_an_invalid_email_without_a_phone_rejects_the_lead_naming_the_field():
    result = normalise(LeadSubmission(email="dana(at)acme", company="Acme"), received_at=RECEIVED)
    assert isinstance(result, Rejected)
    assert [p.field for p in result.problems] == ["email"]
    assert "dana(at)acme" in result.reason()


def test_an_invalid_email_is_dropped_with_a_warning_when_a_phone_exists():
    result = normalised(LeadSubmission(email="dana@", phone="+14155550123"))
    assert result.profile.email is None
    assert result.profile.phone == "+14155550123"
    assert [w.field for w in result.warnings] == ["email"]


def test_an_invalid_phone_is_dropped_with_a_warning_when_an_email_exists():
    result = normalised(LeadSubmission(email="dana@acme.example", phone="12"))
    assert result.profile.phone is None
    assert [w.field for w in result.warnings] == ["phone"]


def test_a_lead_without_email_or_phone_is_rejected_with_a_clear_reason():
    result = normalise(LeadSubmission(first_name="Dana", company="Acme GmbH"), received_at=RECEIVED)
    assert isinstance(result, Rejected)
    assert "email address or a phone number" in result.reason()


def test_a_national_phone_number_uses_the_country_as_region():
    assert normalised(LeadSubmission(phone="(415) 555-0123", country="USA")).profile.phone == "+14155550123"


def test_a_national_phone_number_without_a_country_is_a_problem():
    result = normalise(LeadSubmission(phone="030 1234567"), received_at=RECEIVED)
    assert isinstance(result, Rejected)
    assert "country" in result.problems[0].message


def test_a_national_phone_number_without_a_country_is_read_in_the_default_region():
    result = normalise(LeadSubmission(phone="(312) 555-0147"), received_at=RECEIVED, default_region="US")

    assert isinstance(result, Normalised)
    assert result.profile.phone == "+13125550147"


def test_the_leads_country_wins_over_the_default_region():
    result = normalise(
        LeadSubmission(phone="030 1234567", country="Germany"), received_at=RECEIVED, default_region="US"
    )

    assert isinstance(result, Normalised)
    assert result.profile.phone == "+49301234567"


def test_an_unknown_country_is_dropped_with_a_warning():
    result = normalised(LeadSubmission(email="dana@acme.example", country="Atlantis"))
    assert result.profile.country is None
    assert [w.field for w in result.warnings] == ["country"]


@pytest.mark.parametrize(
    ("email", "website", "domain"),
    [
        ("dana@gmail.com", None, None),
        ("dana@yahoo.co.uk", None, None),
        ("dana@hotmail.fr", None, None),
        ("dana@gmx.at", None, None),
        ("dana@web.de", None, None),
        ("dana@proton.me", "https://www.acme.example/about", "acme.example"),
        ("dana@acme.example", "https://other.example", "acme.example"),
        (None, "www.kovacs-logistik.de", "kovacs-logistik.de"),
        (None, "https://www.linkedin.com/company/acme", None),
    ],
)
def test_the_company_domain_comes_from_a_work_email_or_the_website(email, website, domain):
    assert company_domain(email, website) == domain


def test_a_free_mail_address_gives_no_company_domain():
    assert normalised(LeadSubmission(email="dana.kovacs@gmail.com")).profile.company_domain is None


@pytest.mark.parametrize(
    ("title", "seniority"),
    [
        ("CEO", Seniority.C_LEVEL),
        ("Chief Revenue Officer", Seniority.C_LEVEL),
        ("Co-Founder & CTO", Seniority.C_LEVEL),
        ("Geschäftsführer", Seniority.C_LEVEL),
        ("SVP Sales", Seniority.VP),
        ("Vice President, Marketing", Seniority.VP),
        ("Director of IT", Seniority.DIRECTOR),
        ("Head of Ops", Seniority.DIRECTOR),
        ("Marketing Manager", Seniority.MANAGER),
        ("Senior Software Engineer", Seniority.INDIVIDUAL),
        ("Product Owner", Seniority.UNKNOWN),
        ("", Seniority.UNKNOWN),
    ],
)
def test_job_titles_map_to_a_seniority(title, seniority):
    assert seniority_of(title) is seniority


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Germany", "DE"),
        ("Deutschland", "DE"),
        ("de", "DE"),
        ("DEU", "DE"),
        ("UK", "GB"),
        ("USA", "US"),
        ("United States", "US"),
        ("Österreich", "AT"),
        ("Schweiz", "CH"),
        ("Narnia", None),
        (None, None),
    ],
)
def test_countries_become_iso_alpha_2(raw, code):
    assert country_code(raw) == code


@pytest.mark.parametrize(
    ("raw", "size"),
    [
        ("51-200", 51),
        ("1,000+", 1000),
        ("10.000+", 10000),
        ("1k-5k", 1000),
        ("<10", 1),
        ("250", 250),
        (42, 42),
        ("n/a", None),
        (None, None),
    ],
)
def test_company_sizes_parse_to_a_representative_head_count(raw, size):
    assert parse_company_size(raw) == size


def test_the_touch_takes_the_submission_time_over_the_receipt_time():
    submitted = datetime(2025, 3, 4, 10, 15)
    result = normalised(LeadSubmission(email="dana@acme.example", submitted_at=submitted, is_test=True))
    assert result.touch.occurred_at == submitted.replace(tzinfo=UTC)
    assert result.profile.is_test is True


# Plain addresses take the cached path, the others email-validator's own: both answer as the library does.
ADDRESSES = [
    "dana@acme.example",
    "Dana.Kovacs@ACME.Example",
    "  dana+news@acme.example ",
    "POSTMASTER@acme.example",
    "d!#$%&'*+/=?^_`{|}~-k@acme.example",
    "dana@xn--mller-kva.example",
    "dana@münchen.example",
    "dána@acme.example",
    "Dana <dana@acme.example>",
    '"dana kovacs"@acme.example',
    "dana@[127.0.0.1]",
    ".dana@acme.example",
    "dana.@acme.example",
    "da..na@acme.example",
    "dana@",
    "@acme.example",
    "dana@acme",
    "dana@acme..example",
    "dana@-acme.example",
    "dana@ab--cd.example",
    "dana@localhost",
    "dana@acme.invalid",
    "dana@acme.123",
    "dana@acme.example@other.example",
    "dana(at)acme.example",
    "a" * 65 + "@acme.example",
    "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".example",
    "dana@" + "b" * 64 + ".example",
]


@pytest.mark.parametrize("address", [a for a in ADDRESSES if a.strip().rpartition("@")[0].isascii()])
def test_an_email_address_is_normalised_exactly_as_email_validator_gives_its_ascii_form(address):
    try:
        checked = validate_email(address.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        with pytest.raises(ValueError, match="^" + re.escape(str(exc)) + "$"):
            normalise_email(address)
    else:
        assert checked.ascii_email is not None
        assert normalise_email(address) == checked.ascii_email.lower()


def test_an_internationalised_domain_is_kept_in_its_ascii_form_so_both_spellings_match():
    assert normalise_email("Dana@Müller.example") == "dana@xn--mller-kva.example"
    assert normalise_email("dana@xn--mller-kva.example") == "dana@xn--mller-kva.example"


@pytest.mark.parametrize("address", ["dána@acme.example", "δοκιμή@acme.example", "用户@例子.example"])
def test_a_non_ascii_local_part_is_refused_because_it_needs_smtputf8(address):
    with pytest.raises(ValueError, match=r"non-ASCII characters before the @-sign .* SMTPUTF8"):
        normalise_email(address)


def test_a_lead_whose_only_contact_has_a_non_ascii_local_part_is_rejected_naming_the_email():
    result = normalise(LeadSubmission(email="jürgen@acme.example"), received_at=RECEIVED)

    assert isinstance(result, Rejected)
    assert [p.field for p in result.problems] == ["email"]
    assert "SMTPUTF8" in result.reason()


def test_a_mail_domain_is_checked_once_per_process():
    mail_domain.cache_clear()
    assert normalise_email("dana@kovacs-logistik.example") == "dana@kovacs-logistik.example"
    assert normalise_email("Tomas.Berg@kovacs-logistik.example") == "tomas.berg@kovacs-logistik.example"
    assert (mail_domain.cache_info().misses, mail_domain.cache_info().hits) == (1, 1)


def test_an_invalid_mail_domain_stays_invalid_when_asked_again():
    for _ in range(2):
        with pytest.raises(ValueError, match="period"):
            normalise_email("dana@acme")
    assert mail_domain("acme", False, True) is None


def test_job_titles_and_country_names_are_read_once_per_process():
    seniority_of.cache_clear()
    country_code.cache_clear()
    for _ in range(3):
        assert seniority_of("Head of Operations") is Seniority.DIRECTOR
        assert country_code("Deutschland") == "DE"
    assert (seniority_of.cache_info().misses, seniority_of.cache_info().hits) == (1, 2)
    assert (country_code.cache_info().misses, country_code.cache_info().hits) == (1, 2)


def test_received_again_is_normalise_at_the_new_time_of_receipt():
    later = datetime(2025, 3, 4, 11, 0, tzinfo=UTC)
    timeless = LeadSubmission(email="dana@acme.example", phone="12", country="Atlantis")
    timed = timeless.model_copy(update={"submitted_at": datetime(2025, 3, 1, 9, 0, tzinfo=UTC)})
    rejected = LeadSubmission(first_name="Dana")
    for submission in (timeless, timed, rejected):
        before = normalise(submission, received_at=RECEIVED)
        assert received_again(before, submission, later) == normalise(submission, received_at=later)
