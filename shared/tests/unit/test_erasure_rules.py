"""The pseudonymisation rules every service applies when a person is erased."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import orjson

from leadflow_shared.contracts.events import LeadCaptured, OpportunityOpened
from leadflow_shared.contracts.lead import Channel, LeadProfile, Touch
from leadflow_shared.erasure import (
    ERASED,
    escaped,
    identifiers_of,
    pseudonymise_event,
    pseudonymise_profile,
    redact,
    redact_message,
    redact_text,
)

NOVEMBER = datetime(2026, 11, 2, tzinfo=UTC)
PROFILE = {
    "first_name": "Ingrid",
    "last_name": "Bergström",
    "email": "ingrid.bergstrom@nordkap-shipping.example",
    "phone": "+4670123456",
    "job_title": "Head of Logistics",
    "company": "Nordkap Shipping",
    "company_domain": "nordkap-shipping.example",
    "country": "SE",
    "industry": "logistics",
    "company_size": 240,
    "consent": {"email": False},
    "answers": {"need": "Ingrid wants to replace spreadsheets"},
    "custom_fields": {"home_town": "Kiruna"},
}


def test_the_identifiers_of_a_profile_are_its_email_phone_names_and_full_name_in_lower_case() -> None:
    found = identifiers_of([PROFILE, None, {"first_name": "Al"}])
    assert {
        "ingrid.bergstrom@nordkap-shipping.example",
        "+4670123456",
        "ingrid",
        "bergström",
        "ingrid bergström",
    } <= found
    assert "al" not in found, "a two-letter name is too common to look for inside other text"


def test_a_pseudonymised_profile_keeps_the_company_country_and_consent_and_loses_whoever_it_was() -> None:
    kept = pseudonymise_profile(PROFILE)
    assert kept is not None
    for field in ("first_name", "last_name", "email", "phone", "job_title"):
        assert kept[field] is None
    assert kept["answers"] == {}
    assert kept["custom_fields"] == {}
    assert (kept["company"], kept["country"], kept["company_size"], kept["consent"]) == (
        "Nordkap Shipping",
        "SE",
        240,
        {"email": False},
    )


def test_identifiers_are_replaced_inside_any_text_whatever_their_case() -> None:
    text = "Called INGRID BERGSTRÖM on +4670123456; mail ingrid.bergstrom@nordkap-shipping.example bounced"
    cleaned = redact_text(text, identifiers_of([PROFILE]))
    assert cleaned == f"Called {ERASED} on {ERASED}; mail {ERASED} bounced"


def test_nested_json_loses_personal_fields_and_free_text_and_keeps_the_rest() -> None:
    value = {
        "lead": {"email": "x@y.example", "country": "SE"},
        "details": {"note": "anything"},
        "steps": [{"reason": "Ingrid asked for a call", "score": 3}],
    }
    assert redact(value, {"ingrid"}) == {
        "lead": {"email": None, "country": "SE"},
        "details": {},
        "steps": [{"reason": f"{ERASED} asked for a call", "score": 3}],
    }


def test_a_stored_message_keeps_its_envelope_and_loses_the_person_in_its_data() -> None:
    envelope = {"id": "e-1", "type": "lead.captured", "subject": "lead-1", "data": {"profile": PROFILE}}
    cleaned = orjson.loads(redact_message(orjson.dumps(envelope), identifiers_of([PROFILE])))
    assert {k: cleaned[k] for k in ("id", "type", "subject")} == {
        "id": "e-1",
        "type": "lead.captured",
        "subject": "lead-1",
    }
    assert "ingrid" not in orjson.dumps(cleaned).decode().lower()
    assert cleaned["data"]["profile"]["company"] == "Nordkap Shipping"


def test_stored_bytes_that_are_no_json_message_lose_the_identifiers_and_nothing_else() -> None:
    assert redact_message(b"\x00not json from INGRID\xff", {"ingrid"}) == b"\x00not json from [erased]\xff"
    assert redact_message(b"\x00not json", set()) == b"\x00not json"


def test_an_erased_leads_late_event_keeps_its_ids_and_company_and_loses_the_person() -> None:
    lead_id = uuid4()
    late = LeadCaptured(
        lead_id=lead_id,
        profile=LeadProfile.model_validate(PROFILE),
        touch=Touch(
            channel=Channel.WEB_FORM, source_system="website", occurred_at=datetime(2026, 11, 2, tzinfo=UTC)
        ),
    )
    forgotten = pseudonymise_event(late)
    assert forgotten.lead_id == lead_id
    assert (forgotten.profile.email, forgotten.profile.first_name, forgotten.profile.phone) == (
        None,
        None,
        None,
    )
    assert forgotten.profile.company == "Nordkap Shipping"
    assert forgotten.touch == late.touch


def test_a_name_is_searched_in_stored_bytes_as_postgresql_escapes_them() -> None:
    assert escaped("bergström") == "bergstr\\303\\266m"
    assert escaped("a\\b") == "a\\\\b"


def test_a_late_event_whose_model_requires_a_personal_field_gets_the_marker_there() -> None:
    opened = OpportunityOpened(
        opportunity_id=uuid4(),
        lead_id=uuid4(),
        account_id=uuid4(),
        contact_id=uuid4(),
        name="Ingrid Bergström",
        amount=Decimal("48000"),
        close_date=date(2026, 12, 31),
        stage="prospecting",
    )
    forgotten = pseudonymise_event(opened)
    assert (forgotten.name, forgotten.amount) == (ERASED, Decimal("48000"))
