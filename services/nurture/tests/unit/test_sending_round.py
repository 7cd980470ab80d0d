"""A sending round with a fake mail server: each email's failure is its own, and the round goes on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from uuid import uuid4

import pytest

from leadflow_nurture.domain.delivery import FailureKind, GiveUp, Retry, RetryPolicy, SendFailure
from leadflow_nurture.domain.email import Sender, Unrenderable
from leadflow_nurture.domain.tracks import Step
from leadflow_nurture.domain.unsubscribe import UnsubscribeLinks
from leadflow_nurture.use_cases.scheduler import Draft, Messages, SchedulerConfig, deliver
from leadflow_shared.contracts.lead import LeadProfile

STEP = Step.model_validate(
    {"channel": "drip_email", "delay": "0s", "content_ref": "drip/business-case", "subject": "For $company"}
)
CONFIG = SchedulerConfig(
    sender=Sender(
        email="hello@orbital-bakery.example",
        display_name="Orbital Bakery",
        unsubscribe_url="https://nurture.orbital-bakery.example",
    ),
    links=UnsubscribeLinks("https://nurture.orbital-bakery.example", b"orbital-bakery-signing-secret-42!"),
    retry=RetryPolicy(max_attempts=3, first_delay=timedelta(seconds=30)),
)


class FakeMailServer:
    """Takes every email, except that it bounces some recipients and greylists others (4xx)."""

    def __init__(
        self, bounces: frozenset[str] = frozenset(), greylists: frozenset[str] = frozenset()
    ) -> None:
        self.bounces = bounces
        self.greylists = greylists
        self.delivered: list[str] = []

    async def send(self, messages: Sequence[EmailMessage]) -> list[SendFailure | None]:
        results: list[SendFailure | None] = []
        for index in range(len(messages)):
            try:
                message = messages[index]
            except Unrenderable as error:
                results.append(SendFailure(FailureKind.UNSENDABLE, str(error)))
                continue
            address = message["To"].addresses[0].addr_spec
            if address in self.bounces:
                results.append(SendFailure(FailureKind.UNDELIVERABLE, f"550 5.1.1 <{address}>: no such user"))
            elif address in self.greylists:
                results.append(SendFailure(FailureKind.TRANSIENT, "451 4.7.1 greylisted"))
            else:
                self.delivered.append(address)
                results.append(None)
        return results


def draft(touch_id: int, email: str, attempts: int = 0) -> Draft:
    """A due first touch for a Lisbon baker with this address."""
    row: dict[str, Any] = {
        "id": touch_id,
        "enrollment_id": uuid4(),
        "lead_id": uuid4(),
        "step": 1,
        "channel": "drip_email",
        "attempts": attempts,
    }
    return row, STEP, LeadProfile(first_name="Inês", email=email, company="Pastel de Nata Lda")


async def test_an_unrenderable_email_fails_alone_and_the_emails_after_it_still_go_out() -> None:
    server = FakeMailServer()
    drafts = [
        draft(1, "ines@pastel-de-nata.example"),
        draft(2, "not an address"),
        draft(3, "rui@pastel-de-nata.example"),
    ]

    fates = await deliver(server, drafts, CONFIG)

    assert (fates[0], fates[2]) == (None, None)
    assert isinstance(fates[1], GiveUp)
    assert (fates[1].kind, fates[1].undeliverable) == (FailureKind.UNSENDABLE, False)
    assert "not an email address: 'not an address'" in fates[1].reason
    assert server.delivered == ["ines@pastel-de-nata.example", "rui@pastel-de-nata.example"]


async def test_a_bounce_fails_the_touch_and_marks_the_address_while_a_greylisted_one_is_retried() -> None:
    server = FakeMailServer(
        bounces=frozenset({"gone@pastel-de-nata.example"}),
        greylists=frozenset({"slow@pastel-de-nata.example"}),
    )
    drafts = [
        draft(1, "gone@pastel-de-nata.example"),
        draft(2, "slow@pastel-de-nata.example"),
        draft(3, "ines@pastel-de-nata.example"),
    ]

    fates = await deliver(server, drafts, CONFIG)

    assert fates == [
        GiveUp(FailureKind.UNDELIVERABLE, "550 5.1.1 <gone@pastel-de-nata.example>: no such user", True),
        Retry(after=timedelta(seconds=30), reason="451 4.7.1 greylisted", counted=True),
        None,
    ]


async def test_a_touch_greylisted_on_its_last_attempt_fails_for_good() -> None:
    server = FakeMailServer(greylists=frozenset({"slow@pastel-de-nata.example"}))

    [fate] = await deliver(server, [draft(1, "slow@pastel-de-nata.example", attempts=2)], CONFIG)

    assert fate == GiveUp(FailureKind.TRANSIENT, "gave up after 3 attempts: 451 4.7.1 greylisted")


async def test_a_non_ascii_address_is_rendered_as_it_is_for_a_server_that_offers_smtputf8() -> None:
    server = FakeMailServer()

    fates = await deliver(server, [draft(1, "inês@pastelaria-açúcar.example")], CONFIG)

    assert fates == [None]
    assert server.delivered == ["inês@pastelaria-açúcar.example"]


def test_an_email_is_rendered_only_when_read_and_once() -> None:
    messages = Messages([draft(7, "ines@pastel-de-nata.example"), draft(8, "@")], CONFIG.sender, CONFIG.links)

    assert not messages.rendered
    first = messages[0]
    assert messages[0] is first
    assert first["Message-ID"] == "<touch-7@orbital-bakery.example>"
    assert messages.rendered
    for _ in range(2):
        with pytest.raises(Unrenderable, match="not an email address"):
            messages[1]
