"""Consent changes as nurture records them: which stop email, where they come from, what proves them."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from leadflow_nurture.domain.consent import INTAKE, ConsentChange, from_intake, one_click_proof
from leadflow_shared.contracts.events import LeadConsentChanged
from leadflow_shared.contracts.lead import ContactChannel

ANA = UUID("77c0a7e1-be28-42ad-8f20-e2e0b7e6a408")
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def change(channel: ContactChannel, opted_in: bool) -> ConsentChange:
    return ConsentChange(ANA, channel, opted_in, "support desk", "asked by phone", MONDAY, "ticket 4411")


def test_only_an_email_opt_out_stops_email() -> None:
    assert change(ContactChannel.EMAIL, False).stops_email
    assert not change(ContactChannel.EMAIL, True).stops_email
    assert not change(ContactChannel.SMS, False).stops_email


def test_intake_s_event_is_recorded_with_intake_as_its_source_and_no_proof() -> None:
    event = LeadConsentChanged(
        lead_id=ANA, channel=ContactChannel.EMAIL, opted_in=False, reason="opted out on a website submission"
    )

    recorded = from_intake(event, MONDAY)

    assert (recorded.source, recorded.reason, recorded.proof) == (INTAKE, event.reason, None)
    assert recorded.stops_email


def test_a_one_click_proof_names_the_token_hash_and_the_moment() -> None:
    proof = one_click_proof("9f" * 32, MONDAY)

    assert "9f" * 32 in proof
    assert "2026-03-02T09:00:00+00:00" in proof
    assert "RFC 8058" in proof
