"""The email of a touch is built with kept header objects: byte for byte what the stdlib builds afresh."""

from __future__ import annotations

from email import policy
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.policy import Policy

import pytest

from leadflow_nurture.domain import email as email_module
from leadflow_nurture.domain.email import Recipient, Sender, render_touch
from leadflow_nurture.domain.tracks import Step

STEP = Step.model_validate(
    {
        "channel": "drip_email",
        "delay": "14d",
        "content_ref": "drip/roi-calculator",
        "subject": "$first_name, your numbers for $company in five minutes",
    }
)
PLAIN_STEP = Step.model_validate(
    {"channel": "newsletter_subscription", "content_ref": "drip/roi-calculator", "subject": "What changed"}
)
LIBRARY = {
    "drip/roi-calculator": "Teams at $company cut routing costs by a third.\nTry it: $unsubscribe_url\n"
    + "A very long line that goes on and on about freight, routes, depots and trucks " * 3
}
ACME = Sender(
    email="hello@acme-freight.example",
    display_name="Acme Freight",
    unsubscribe_url="https://nurture.acme-freight.example/unsubscribe/a1b2",
    unsubscribe_mailto="unsubscribe+a1b2@acme-freight.example",
)
SENDERS = [
    ACME,
    Sender(
        email="ola@pastelaria.example",
        display_name="Pastelaria Açúcar",
        unsubscribe_url="https://p.example/u",
    ),
    Sender(
        email="news@plain.example", display_name="Plain\nNews", unsubscribe_url="http://plain.example/u?l=1"
    ),
    Sender(
        email="hi@long.example",
        display_name="Long",
        unsubscribe_url="https://long.example/unsubscribe?lead=77c0a7e1-be28-42ad-8f20-e2e0b7e6a408&list=monthly",
        unsubscribe_mailto="leave@long.example",
    ),
]
RECIPIENTS = [
    Recipient(
        email="ana.ferreira@transportes-lusos.example",
        first_name="Ana",
        last_name="Ferreira",
        company="Transportes Lusos",
    ),
    Recipient(
        email="ines@pastel-de-nata.example",
        first_name="Inês",
        last_name="Conceição",
        company="Pastelaria Açúcar",
    ),
    Recipient(email="ops@transportes-lusos.example"),
    Recipient(
        email="ana@transportes-lusos.example",
        first_name="Ana\r\nBcc: everyone@example.com",
        last_name="\tFerreira\x00",
        company="Lusos\x7f Lda",
    ),
    Recipient(
        email="zoe@example.com", first_name='Zoë "Z" O\'Neil', last_name="Smith, Jr.", company="Ö & Co"
    ),
    Recipient(email="li@example.cn", first_name="李", last_name="小龙", company="龙 Freight"),
]


def fresh_policy() -> Policy:
    """The stdlib's default policy, with List-Unsubscribe on one line as RFC 8058 needs, nothing kept."""
    registry = HeaderRegistry()
    for name in ("list-unsubscribe", "list-unsubscribe-post"):
        registry.map_to_type(name, email_module._OneLineHeader)  # type: ignore[arg-type]
    return policy.default.clone(header_factory=registry)


def reference_render(
    step: Step, recipient: Recipient, sender: Sender, library: dict[str, str]
) -> EmailMessage:
    """render_touch on a fresh stdlib policy: every header parsed afresh, nothing kept between messages."""
    fresh = fresh_policy()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(email_module, "_POLICY", fresh)
        patch.setattr(email_module, "_ONE_CLICK", "List-Unsubscribe=One-Click")
        patch.setattr(
            email_module,
            "_from_header",
            lambda name, address: Address(display_name=email_module._clean(name), addr_spec=address),
        )
        message = render_touch(step, recipient, sender, library)
    assert message.policy is fresh
    return message


def as_seen(message: EmailMessage) -> tuple[object, ...]:
    """Everything a reader or an SMTP server gets of a message."""
    return (
        [(name, str(value)) for name, value in message.items()],
        message.get_content(),
        message.as_bytes(policy=policy.SMTP),
        message.as_bytes(policy=policy.SMTPUTF8),
        message.as_string(),
    )


@pytest.mark.parametrize("sender", SENDERS, ids=lambda s: s.email)
@pytest.mark.parametrize("recipient", RECIPIENTS, ids=lambda r: r.email)
@pytest.mark.parametrize("step", [STEP, PLAIN_STEP], ids=["personal", "plain"])
def test_a_rendered_touch_is_byte_for_byte_the_email_the_stdlib_builds(
    step: Step, recipient: Recipient, sender: Sender
) -> None:
    expected = as_seen(reference_render(step, recipient, sender, LIBRARY))

    # Twice: the second message is built from the header objects the first one left behind.
    assert as_seen(render_touch(step, recipient, sender, LIBRARY)) == expected
    assert as_seen(render_touch(step, recipient, sender, LIBRARY)) == expected


def test_kept_headers_stay_with_their_own_message_when_another_is_changed() -> None:
    first = render_touch(PLAIN_STEP, RECIPIENTS[0], ACME, LIBRARY)
    second = render_touch(PLAIN_STEP, RECIPIENTS[1], ACME, LIBRARY)

    first.replace_header("Subject", "Changed")
    first.set_param("charset", "us-ascii")
    del first["MIME-Version"]

    assert second["Subject"] == "What changed"
    assert second["Content-Type"] == 'text/plain; charset="utf-8"'
    assert second["MIME-Version"] == "1.0"
    assert as_seen(second) == as_seen(reference_render(PLAIN_STEP, RECIPIENTS[1], ACME, LIBRARY))
