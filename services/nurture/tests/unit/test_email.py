from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from aiosmtplib.email import flatten_message

from leadflow_nurture.domain.email import Recipient, Sender, UnknownContent, Unrenderable, render_touch
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


def header_lines(wire: bytes) -> list[bytes]:
    """The raw header lines of an email as it goes on the wire, continuation lines kept apart."""
    return wire.split(b"\r\n\r\n")[0].split(b"\r\n")


def test_a_long_list_unsubscribe_goes_out_on_one_unencoded_line_as_rfc_8058_needs() -> None:
    long_link = Sender(
        email="hello@acme-freight.example",
        display_name="Acme Freight",
        unsubscribe_url="https://nurture.acme-freight.example/unsubscribe/one-click"
        "?lead=77c0a7e1-be28-42ad-8f20-e2e0b7e6a408&list=monthly-freight-digest",
        unsubscribe_mailto="unsubscribe+77c0a7e1@acme-freight.example",
    )

    wire = flatten_message(render_touch(STEP, ANA, long_link, LIBRARY), utf8=False)

    lines = header_lines(wire)
    assert (
        b"List-Unsubscribe: <mailto:unsubscribe+77c0a7e1@acme-freight.example>, "
        b"<https://nurture.acme-freight.example/unsubscribe/one-click"
        b"?lead=77c0a7e1-be28-42ad-8f20-e2e0b7e6a408&list=monthly-freight-digest>"
    ) in lines
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in lines
    assert b"=?" not in b"".join(line for line in lines if line.startswith(b"List-Unsubscribe"))


def test_a_non_ascii_address_is_kept_whole_for_smtputf8() -> None:
    ines = Recipient(email="inês@pastelaria-açúcar.example", first_name="Inês")

    wire = flatten_message(render_touch(STEP, ines, ACME, LIBRARY), utf8=True)

    assert "To: Inês <inês@pastelaria-açúcar.example>".encode() in header_lines(wire)


@pytest.mark.parametrize(
    "address",
    ["ana.transportes-lusos.example", "@transportes-lusos.example", "ana@", "ana@lusos\r\nBcc: x@y"],
)
def test_an_address_no_email_can_carry_is_unrenderable(address: str) -> None:
    with pytest.raises(Unrenderable, match="not an email address"):
        render_touch(STEP, Recipient(email=address), ACME, LIBRARY)
