"""One-click unsubscribe end to end: nurture as a process mails a real SMTP server, the link is taken from
the message's raw bytes and posted as a mailbox provider posts it, and the next round mails nothing."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from email import policy
from email.parser import BytesParser
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller

from leadflow_devstack.builders import captured, disqualified, profile
from leadflow_devstack.testing import (
    ServiceProcess,
    TestStack,
    free_port,
    new_test_stack,
    read_topic,
    wait_until,
)
from leadflow_shared.contracts.topics import NURTURE_EVENTS

from .test_nurture_journeys import auth, send

pytestmark = pytest.mark.e2e

# The second email comes 5 s after the first: time enough to click, and soon enough to see a round pass.
TRACKS: dict[str, Any] = {
    "tracks": [
        {
            "name": "budget-drip",
            "entry": {"sources": ["disqualified"], "reasons": ["no_budget"]},
            "steps": [
                {
                    "channel": "drip_email",
                    "delay": "0s",
                    "content_ref": "drip/business-case",
                    "subject": "First",
                },
                {
                    "channel": "drip_email",
                    "delay": "5s",
                    "content_ref": "drip/pricing-options",
                    "subject": "Second",
                },
            ],
            "exit": {"engagement_threshold": 15, "grace": "1d"},
        }
    ]
}


class RawInbox:
    """The bytes of every message the local SMTP server received, by recipient."""

    def __init__(self) -> None:
        self.raw: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[bytes]:
        return [raw for recipients, raw in self.raw if address in recipients]


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[int, RawInbox]]:
    box = RawInbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


@pytest_asyncio.fixture(scope="module")
async def nurture(inbox: tuple[int, RawInbox]) -> AsyncIterator[tuple[TestStack, ServiceProcess]]:
    stack = new_test_stack("u")
    await stack.create()
    env = {"NURTURE_SMTP_PORT": str(inbox[0]), "NURTURE_SCHEDULER_POLL_INTERVAL_S": "0.2"}
    process = ServiceProcess(stack, "nurture", extra_env=env).start()
    try:
        yield stack, process
    finally:
        process.stop()
        await stack.destroy()


async def disqualified_baker(stack: TestStack, email: str) -> uuid.UUID:
    """A baker intake captured and qualification found without budget: nurture puts her on the drip."""
    lead_id = uuid.uuid4()
    ines = profile(first_name="Inês", last_name="Moreau", email=email, company="Pastelaria Açúcar")
    await send(stack, captured(ines, lead_id=lead_id), "intake")
    event = disqualified(lead_id=lead_id, profile=ines, fit_score=0.4, engagement_score=0.1)
    await send(stack, event, "qualification")
    return lead_id


def one_click_link(raw: bytes) -> str:
    """The http(s) link of List-Unsubscribe, read from the raw message as a mailbox provider reads it."""
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = message["List-Unsubscribe"]
    assert "=?" not in header
    [link] = re.findall(r"<(https?://[^>]+)>", header)
    return str(link)


async def test_posting_the_one_click_link_of_a_sent_email_stops_the_next_email(
    nurture: tuple[TestStack, ServiceProcess], inbox: tuple[int, RawInbox]
) -> None:
    stack, service = nurture
    async with httpx.AsyncClient(base_url=service.url) as client:
        assert (await client.put("/v1/tracks", json=TRACKS, headers=auth(stack, "admin"))).status_code == 200
    leaving, staying = "ines@pastelaria-acucar.example", "rita@pastelaria-acucar.example"
    lead_id = await disqualified_baker(stack, leaving)
    await disqualified_baker(stack, staying)
    [first] = await wait_until(lambda: _present(inbox[1].to(leaving)), within=30)

    link = one_click_link(first)
    assert link.startswith(f"{service.url}/v1/unsubscribe/")
    async with httpx.AsyncClient() as mail_client:
        answer = await mail_client.post(
            link,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    assert answer.status_code == 200, answer.text
    # Rita's second email shows the round that would have sent Inês hers has run.
    await wait_until(lambda: _at_least(inbox[1].to(staying), 2), within=30)
    assert len(inbox[1].to(leaving)) == 1

    async def consents() -> list[dict[str, Any]] | None:
        recorded = [json.loads(r.value) for r in await read_topic(stack, NURTURE_EVENTS)]
        return [e for e in recorded if e["type"] == "nurture.consent_recorded"] or None

    [consent] = await wait_until(consents, within=30)
    assert consent["data"]["lead_id"] == str(lead_id)
    assert (consent["data"]["opted_in"], consent["data"]["source"]) == (False, "one-click unsubscribe")


async def _present(items: list[bytes]) -> list[bytes] | None:
    return items or None


async def _at_least(items: list[bytes], count: int) -> list[bytes] | None:
    return items if len(items) >= count else None
