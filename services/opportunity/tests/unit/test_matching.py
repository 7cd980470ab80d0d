"""Account matching by company domain or normalised name, contact matching by email."""

from uuid import UUID, uuid4

import pytest

from leadflow_opportunity.domain.matching import (
    AccountCandidate,
    ContactCandidate,
    MatchedBy,
    account_keys,
    company_domain,
    contact_key,
    match_account,
    match_contact,
    normalise_company_name,
    normalise_domain,
)
from leadflow_shared.contracts.lead import LeadProfile

ACME_BERLIN = UUID("00000000-0000-0000-0000-00000000ac01")
GLOBEX = UUID("00000000-0000-0000-0000-00000000610b")


@pytest.mark.parametrize(
    "name",
    [
        "Acme GmbH",
        "ACME Inc.",
        "Acme, Ltd",
        "acme llc",
        "ACME S.A.",
        "Acme AG",
        "Acme SAS",
        "Acme B.V.",
        " acme ",
    ],
)
def test_legal_suffixes_punctuation_and_case_fall_away_from_a_company_name(name: str) -> None:
    assert normalise_company_name(name) == "acme"


def test_whitespace_accents_and_a_chain_of_legal_forms_fall_away_too() -> None:
    assert normalise_company_name("Müller  Maschinenbau GmbH & Co. KG") == "mullermaschinenbau"
    assert normalise_company_name("Muller Maschinenbau") == "mullermaschinenbau"


def test_a_legal_word_inside_a_name_stays() -> None:
    assert normalise_company_name("AG Insights Ltd") == "aginsights"


def test_a_company_named_only_by_its_legal_form_keeps_it() -> None:
    assert normalise_company_name("S.A.") == "sa"


def test_a_blank_company_name_has_no_key() -> None:
    assert normalise_company_name("  ,  ") is None
    assert normalise_company_name(None) is None


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("acme.com", "acme.com"),
        ("https://www.Acme.com/pricing?plan=team", "acme.com"),
        ("http://shop.acme.co.uk:8080", "shop.acme.co.uk"),
        ("Jane.Doe@ACME.com", "acme.com"),
        ("ACME.COM.", "acme.com"),
        ("not a domain", None),
        ("localhost", None),
        ("", None),
    ],
)
def test_a_domain_is_read_from_a_bare_host_a_url_or_an_email(value: str, domain: str | None) -> None:
    assert normalise_domain(value) == domain


def test_a_free_mail_domain_names_no_company() -> None:
    assert company_domain("wile.e.coyote@gmail.com") is None
    assert company_domain("roadrunner@acme.com") == "acme.com"


def test_the_account_domain_falls_back_from_company_domain_to_website_to_work_email() -> None:
    from_website = LeadProfile(company="Globex", website="https://www.globex.com/about")
    from_email = LeadProfile(company="Initech", email="peter.gibbons@initech.com")
    free_mail_only = LeadProfile(company="Initech", email="milton@yahoo.com")

    assert account_keys(from_website).domain == "globex.com"
    assert account_keys(from_email).domain == "initech.com"
    assert account_keys(free_mail_only).domain is None


def test_acme_gmbh_and_acme_inc_with_domain_acme_com_are_one_account() -> None:
    existing = [AccountCandidate(ACME_BERLIN, "Acme GmbH", "acme.com")]
    lead = LeadProfile(company="ACME Inc.", company_domain="acme.com", email="wile@acme.com")

    match = match_account(account_keys(lead), existing)

    assert match.account_id == ACME_BERLIN
    assert match.matched_by is MatchedBy.DOMAIN
    assert not match.is_new


def test_the_domain_wins_over_the_name() -> None:
    same_name = AccountCandidate(GLOBEX, "Acme Corporation", None)
    same_domain = AccountCandidate(ACME_BERLIN, "Acme Holdings Europe", "https://acme.com")
    lead = LeadProfile(company="Acme Corp", company_domain="acme.com")

    match = match_account(account_keys(lead), [same_name, same_domain])

    assert match.account_id == ACME_BERLIN
    assert match.matched_by is MatchedBy.DOMAIN


def test_the_normalised_name_matches_an_account_without_a_domain() -> None:
    existing = [AccountCandidate(ACME_BERLIN, "Acme GmbH", None)]
    lead = LeadProfile(company="ACME Inc.", company_domain="acme.com")

    match = match_account(account_keys(lead), existing)

    assert match.account_id == ACME_BERLIN
    assert match.matched_by is MatchedBy.NAME


def test_the_same_name_under_another_domain_is_another_company() -> None:
    existing = [AccountCandidate(ACME_BERLIN, "Acme Ltd", "acme.co.uk")]
    lead = LeadProfile(company="Acme Inc", company_domain="acme.com")

    match = match_account(account_keys(lead), existing)

    assert match.is_new
    assert match.keys.domain == "acme.com"
    assert match.keys.name_key == "acme"
    assert match.keys.display_name == "Acme Inc"


def test_a_lead_without_company_or_domain_gets_a_new_account_named_after_the_person() -> None:
    lead = LeadProfile(first_name="Wile E.", last_name="Coyote", email="wile@gmail.com")

    match = match_account(account_keys(lead), [AccountCandidate(GLOBEX, "Globex", "globex.com")])

    assert match.is_new
    assert match.keys.display_name == "Wile E. Coyote"


def test_two_people_from_one_company_end_in_one_account() -> None:
    accounts: list[AccountCandidate] = []
    wile = LeadProfile(first_name="Wile", company="Acme GmbH", email="wile@acme.com")
    road = LeadProfile(first_name="Road", company="ACME Inc.", email="road.runner@acme.com")

    first = match_account(account_keys(wile), accounts)
    assert first.is_new
    accounts.append(AccountCandidate(uuid4(), first.keys.display_name, first.keys.domain))
    second = match_account(account_keys(road), accounts)

    assert second.account_id == accounts[0].account_id
    assert second.matched_by is MatchedBy.DOMAIN


def test_a_contact_is_matched_by_email_whatever_its_case() -> None:
    wile = ContactCandidate(uuid4(), ACME_BERLIN, "Wile.Coyote@Acme.com")

    assert match_contact(" wile.coyote@acme.COM ", [wile]) == wile


def test_a_new_email_or_no_email_is_a_new_contact() -> None:
    wile = ContactCandidate(uuid4(), ACME_BERLIN, "wile@acme.com")

    assert match_contact("road.runner@acme.com", [wile]) is None
    assert match_contact(None, [wile]) is None
    assert contact_key("not-an-email") is None
