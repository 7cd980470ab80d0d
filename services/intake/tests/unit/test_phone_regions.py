"""Which region a national phone number is read in: the lead's country, the source's, else the default."""

from datetime import UTC, datetime

from leadflow_intake.domain.normalise import Normalised, normalise, phone_in_country
from leadflow_intake.domain.sources.activecampaign import parse_activecampaign
from leadflow_intake.domain.sources.common import parse_form_body
from leadflow_intake.settings import IntakeSettings
from leadflow_shared.contracts.lead import LeadSubmission

RECEIVED = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
# lead-sources.md's ActiveCampaign subscribe with the national-format phone number and no country.
ACTIVECAMPAIGN = (
    "type=subscribe&date_time=2025-03-04T05:15:00-05:00&initiated_from=public&initiated_by=public&list=3"
    "&contact[id]=4522&contact[email]=jordan%40lakeshore-logistics.example&contact[first_name]=Jordan"
    "&contact[last_name]=Ellis&contact[phone]=%28312%29+555-0147&contact[orgname]=Lakeshore+Logistics"
)
DEFAULT_REGION = IntakeSettings.model_fields["default_region"].default


def phone_of(body: str, default_region: str | None = DEFAULT_REGION) -> str | None:
    submission = parse_activecampaign(parse_form_body(body))
    assert isinstance(submission, LeadSubmission)
    result = normalise(submission, received_at=RECEIVED, default_region=default_region)
    assert isinstance(result, Normalised)
    return result.profile.phone


def test_an_activecampaign_phone_in_national_format_is_read_in_the_default_region():
    assert DEFAULT_REGION == "US"
    assert phone_of(ACTIVECAMPAIGN) == "+13125550147"


def test_the_sources_own_country_field_wins_over_the_default_region():
    german = ACTIVECAMPAIGN.replace("%28312%29+555-0147", "030+1234567") + "&contact[fields][country]=Germany"
    assert phone_of(german) == "+49301234567"


def test_without_a_country_or_a_default_region_a_national_number_is_dropped_not_guessed():
    assert phone_of(ACTIVECAMPAIGN, default_region=None) is None


def test_a_known_leads_country_comes_before_the_default_region():
    submission = LeadSubmission(email="jonas@spree-werke.example", phone="030 1234567")
    result = normalise(submission, received_at=RECEIVED, default_region="US")
    assert isinstance(result, Normalised)
    assert result.profile.phone is None
    assert phone_in_country(result, submission, "DE", "US").profile.phone == "+49301234567"
    named = LeadSubmission(email="jonas@spree-werke.example", phone="(312) 555-0147", country="US")
    in_us = normalise(named, received_at=RECEIVED, default_region="US")
    assert isinstance(in_us, Normalised)
    assert phone_in_country(in_us, named, "DE", "US").profile.phone == "+13125550147", "its own country wins"
