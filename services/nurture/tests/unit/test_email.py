from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from leadflow_nurture.domain.email import Recipient, Sender, UnknownContent, render_touch
from leadflow_nurture.domain.tracks import Step

STEP = Step.model_validate(
    {
        "channel": "drip_email",
        "delay": "14d",
        "content_ref": "drip/roi-calculator",
        "subject": "$first_name, your numbers in five minutes",
    }
)
LIBRARY = {"drip/roi-calculator": "Teams at $company cut routing costs by a third.\nTry the calculator."}
ACME = Sender(
    email="hello@acme-freight.example",
    display_name="Acme Freight",
    unsubscribe_url="https://nurture.acme-freight.example/unsubscribe/a1b2",
    unsubscribe_mailto="unsubscribe+a1b2@acme-freight.example",
)
ANA = Recipient(email="ana.ferreira@transportes-lusos.example", first_name="Ana", last_name="Ferreira",
                company="Transportes Lusos")  # fmt: skip


def test_a_touch_becomes_an_email_addressed_to_the_lead_by_name() -> None:
    message = render_touch(STEP, ANA, ACME, LIBRARY)

    assert message["To"] == "Ana Ferreira <ana.ferreira@transportes-lusos.example>"
    assert message["From"] == "Acme Freight <hello@acme-freight.example>"
    assert message["Subject"] == "Ana, your numbers in five minutes"
    body = message.get_content()
    assert body.startswith("Hi Ana,\n\nTeams at Transportes Lusos cut routing costs by a third.")
    assert "Unsubscribe: https://nurture.acme-freight.example/unsubscribe/a1b2" in body


def test_the_email_offers_one_click_unsubscribe() -> None:
    message = render_touch(STEP, ANA, ACME, LIBRARY)

    assert message["List-Unsubscribe"] == (
        "<mailto:unsubscribe+a1b2@acme-freight.example>, <https://nurture.acme-freight.example/unsubscribe/a1b2>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_lead_without_a_name_is_greeted_politely() -> None:
    message = render_touch(STEP, Recipient(email="ops@transportes-lusos.example"), ACME, LIBRARY)

    assert message["Subject"] == "there, your numbers in five minutes"
    assert message.get_content().startswith("Hello,")


def test_a_newline_in_a_name_never_becomes_a_header() -> None:
    sneaky = Recipient(email="ana@transportes-lusos.example", first_name="Ana\r\nBcc: everyone@example.com")

    message = render_touch(STEP, sneaky, ACME, LIBRARY)

    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]


def test_a_step_naming_missing_content_is_refused() -> None:
    with pytest.raises(UnknownContent, match="drip/roi-calculator"):
        render_touch(STEP, ANA, ACME, {})


def test_a_portuguese_name_travels_rfc_2047_encoded_and_reads_back_unchanged() -> None:
    ines = Recipient(email="ines@pastel-de-nata.example", first_name="Inês", last_name="Conceição",
                     company="Pastelaria Açúcar")  # fmt: skip

    wire = render_touch(STEP, ines, ACME, LIBRARY).as_bytes(policy=policy.SMTP)

    headers = wire.split(b"\r\n\r\n")[0]
    assert headers.isascii()
    assert b"To: =?utf-8?" in headers
    received = message_from_bytes(wire, policy=policy.default)
    assert received["To"] == "Inês Conceição <ines@pastel-de-nata.example>"
    assert received["Subject"] == "Inês, your numbers in five minutes"
    assert "Teams at Pastelaria Açúcar cut routing costs" in received.get_content()


def test_every_touch_of_one_sender_gets_its_own_headers() -> None:
    first = render_touch(STEP, ANA, ACME, LIBRARY)
    second = render_touch(
        STEP, Recipient(email="rui@transportes-lusos.example", first_name="Rui"), ACME, LIBRARY
    )

    del first["From"]

    assert second["From"] == "Acme Freight <hello@acme-freight.example>"
    assert second["To"] == "Rui <rui@transportes-lusos.example>"
