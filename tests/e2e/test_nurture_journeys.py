"""Nurture as a process on real Kafka, Postgres and a real SMTP server, driven by other services' events."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller

from leadflow_devstack import builders
from leadflow_devstack.builders import captured, profile
from leadflow_devstack.testing import (
    ServiceProcess,
    TestStack,
    free_port,
    new_test_stack,
    produce,
    read_topic,
    wait_until,
)
from leadflow_shared.contracts.envelope import encode, new_event
from leadflow_shared.contracts.events import (
    DisqualificationReason,
    EventData,
    LeadConsentChanged,
    LeadDisqualified,
    LeadEngaged,
    OpportunityLost,
)
from leadflow_shared.contracts.lead import ActivityType, ContactChannel, LeadProfile
from leadflow_shared.contracts.topics import NURTURE_EVENTS, OPPORTUNITY_EVENTS

pytestmark = pytest.mark.e2e

FAST_TRACKS: dict[str, Any] = {
    "tracks": [
        {
            "name": "budget-drip",
            "entry": {"sources": ["disqualified", "nurturing"], "reasons": ["no_budget"]},
            "steps": [
                {
                    "channel": "drip_email",
                    "delay": "0s",
                    "content_ref": "drip/business-case",
                    "subject": "A business case for $company",
                },
                {
                    "channel": "webinar_invitation",
                    "delay": "1s",
                    "content_ref": "webinar/roi-for-leaders",
                    "subject": "Live: the ROI case",
                },
                {
                    "channel": "drip_email",
                    "delay": "1h",
                    "content_ref": "drip/pricing-options",
                    "subject": "Ways to start small",
                },
            ],
            "exit": {"engagement_threshold": 15, "grace": "1d"},
        },
        {
            "name": "win-back",
            "entry": {"sources": ["opportunity_lost"]},
            "steps": [
                {
                    "channel": "drip_email",
                    "delay": "0s",
                    "content_ref": "win-back/whats-new",
                    "subject": "What we shipped since we spoke",
                }
            ],
            "exit": {"engagement_threshold": 10, "grace": "1d"},
        },
    ]
}


class Inbox:
    """What the local SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in str(m["To"])]


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[int, Inbox]]:
    box = Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


@pytest_asyncio.fixture(scope="module")
async def nurture(inbox: tuple[int, Inbox]) -> AsyncIterator[tuple[TestStack, ServiceProcess]]:
    """A stack of its own, so no other nurture replica with other SMTP settings shares the work."""
    stack = new_test_stack("n")
    await stack.create()
    process = ServiceProcess(
        stack,
        "nurture",
        extra_env={
            "NURTURE_SMTP_PORT": str(inbox[0]),
            "NURTURE_SCHEDULER_POLL_INTERVAL_S": "0.2",
            "NURTURE_SENDER_EMAIL": "hello@orbital-bakery.example",
        },
    ).start()
    try:
        yield stack, process
    finally:
        process.stop()
        await stack.destroy()


def auth(stack: TestStack, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.tokens[scope]}"}


def moreau(first: str, email: str) -> LeadProfile:
    """A Moreau of the Fromagerie Moreau, a French cheese maker."""
    return profile(
        first_name=first, last_name="Moreau", email=email, company="Fromagerie Moreau", country="FR"
    )


async def send(stack: TestStack, data: EventData, source: str) -> None:
    key = str(data.lead_id).encode()  # type: ignore[attr-defined]
    await produce(stack, data.topic, [(key, encode(new_event(data, source=source)))])


async def capture(stack: TestStack, first: str, email: str) -> uuid.UUID:
    """Intake's capture of a Moreau, sent to the run's topic; answer the new lead's id."""
    event = captured(moreau(first, email))
    await send(stack, event, "intake")
    return event.lead_id


def disqualified(
    lead_id: uuid.UUID, first: str, email: str, reason: DisqualificationReason
) -> LeadDisqualified:
    fit = {"fit_score": 0.4, "engagement_score": 0.1}
    return builders.disqualified(fit, lead_id=lead_id, reason=reason, profile=moreau(first, email))


async def lead_view(stack: TestStack, service: ServiceProcess, lead_id: uuid.UUID) -> dict[str, Any] | None:
    async with httpx.AsyncClient(base_url=service.url) as client:
        response = await client.get(f"/v1/leads/{lead_id}", headers=auth(stack, "read"))
    return response.json() if response.status_code == 200 else None


async def nurture_events(stack: TestStack, event_type: str) -> list[dict[str, Any]]:
    records = await read_topic(stack, NURTURE_EVENTS, within=2.0)
    events = [json.loads(r.value) for r in records]
    return [e for e in events if e["type"] == event_type]


async def test_tracks_are_admin_data_and_an_invalid_track_gets_a_422_naming_the_problem(
    nurture: tuple[TestStack, ServiceProcess],
) -> None:
    stack, service = nurture
    broken = {
        "tracks": [
            {
                "name": "webinar",
                "steps": [{"channel": "carrier_pigeon", "content_ref": "x", "subject": "Coo"}],
            }
        ]
    }
    async with httpx.AsyncClient(base_url=service.url) as client:
        refused = await client.put("/v1/tracks", json=broken, headers=auth(stack, "admin"))
        forbidden = await client.put("/v1/tracks", json=FAST_TRACKS, headers=auth(stack, "write"))
        stored = await client.put("/v1/tracks", json=FAST_TRACKS, headers=auth(stack, "admin"))
        again = await client.put("/v1/tracks", json=FAST_TRACKS, headers=auth(stack, "admin"))
        current = await client.get("/v1/tracks", headers=auth(stack, "admin"))
    assert refused.status_code == 422
    assert "carrier_pigeon" in refused.json()["detail"]
    assert "step 1" in refused.json()["detail"]
    assert forbidden.status_code == 403
    assert stored.status_code == 200, stored.text
    assert [t["version"] for t in stored.json()["tracks"]] == [2, 2]
    assert [t["version"] for t in again.json()["tracks"]] == [2, 2]
    assert [t["name"] for t in current.json()["tracks"]] == ["budget-drip", "win-back"]


async def test_an_unqualified_lead_is_enrolled_gets_touches_by_smtp_and_engagement_sends_it_back(
    nurture: tuple[TestStack, ServiceProcess], inbox: tuple[int, Inbox]
) -> None:
    stack, service = nurture
    email = "camille@fromagerie-moreau.example"
    lead_id = await capture(stack, "Camille", email)
    await wait_until(lambda: lead_view(stack, service, lead_id))
    await send(
        stack, disqualified(lead_id, "Camille", email, DisqualificationReason.NO_BUDGET), "qualification"
    )

    await wait_until(lambda: _at_least(inbox[1].to(email), 2), within=30)
    subjects = [m["Subject"] for m in inbox[1].to(email)]
    assert subjects == ["A business case for Fromagerie Moreau", "Live: the ROI case"]
    view = await lead_view(stack, service, lead_id)
    assert view is not None
    assert view["enrollments"][0]["track"] == "budget-drip"
    assert len(view["touches_sent"]) == 2
    assert len(view["touches_due"]) == 1

    await send(
        stack,
        LeadEngaged(
            lead_id=lead_id,
            activity_id="demo-1",
            activity_type=ActivityType.DEMO_REQUESTED,
            occurred_at=datetime.now(UTC),
        ),
        "intake",
    )

    async def requalified() -> list[dict[str, Any]]:
        events = await nurture_events(stack, "lead.requalification_requested")
        return [e for e in events if e["data"]["lead_id"] == str(lead_id)]

    [request] = await wait_until(requalified, within=30)
    assert "engagement threshold reached" in request["data"]["reason"]
    enrolled = [
        e for e in await nurture_events(stack, "nurture.enrolled") if e["data"]["lead_id"] == str(lead_id)
    ]
    sent = [
        e for e in await nurture_events(stack, "nurture.touch_sent") if e["data"]["lead_id"] == str(lead_id)
    ]
    assert len(enrolled) == 1
    assert len(sent) == 2
    view = await lead_view(stack, service, lead_id)
    assert view is not None
    assert view["enrollments"][0]["status"] == "requalified"
    assert view["touches_due"] == []


async def test_an_opted_out_lead_is_enrolled_but_receives_nothing(
    nurture: tuple[TestStack, ServiceProcess], inbox: tuple[int, Inbox]
) -> None:
    stack, service = nurture
    email = "hugo@fromagerie-moreau.example"
    lead_id = await capture(stack, "Hugo", email)
    await send(
        stack,
        LeadConsentChanged(
            lead_id=lead_id, channel=ContactChannel.EMAIL, opted_in=False, reason="replied STOP"
        ),
        "intake",
    )

    async def consent_recorded() -> bool:
        view = await lead_view(stack, service, lead_id)
        return bool(view and view["consent"])

    await wait_until(consent_recorded)
    await send(stack, disqualified(lead_id, "Hugo", email, DisqualificationReason.NO_BUDGET), "qualification")

    async def skipped() -> bool:
        view = await lead_view(stack, service, lead_id)
        return bool(view and view["touches_skipped"])

    await wait_until(skipped, within=30)
    assert inbox[1].to(email) == []
    view = await lead_view(stack, service, lead_id)
    assert view is not None
    assert view["touches_skipped"][0]["status"] == "skipped_no_consent"
    assert view["consent"][0]["reason"] == "replied STOP"


async def test_a_not_icp_lead_is_archived_with_its_reason_and_the_archive_can_be_reversed(
    nurture: tuple[TestStack, ServiceProcess], inbox: tuple[int, Inbox]
) -> None:
    stack, service = nurture
    email = "bob@student-dorm.example"
    lead_id = await capture(stack, "Bob", email)
    await send(stack, disqualified(lead_id, "Bob", email, DisqualificationReason.NOT_ICP), "qualification")

    async def archived() -> dict[str, Any] | None:
        view = await lead_view(stack, service, lead_id)
        return view["archive"] if view else None

    archive = await wait_until(archived)
    assert archive["reason"] == "not_icp"
    async with httpx.AsyncClient(base_url=service.url) as client:
        reversed_ = await client.post(f"/v1/leads/{lead_id}/archive/reverse", headers=auth(stack, "write"))
        twice = await client.post(f"/v1/leads/{lead_id}/archive/reverse", headers=auth(stack, "write"))
    assert reversed_.status_code == 200
    assert reversed_.json()["reversed_at"]
    assert twice.status_code == 404

    async def requested() -> list[dict[str, Any]]:
        events = await nurture_events(stack, "lead.requalification_requested")
        return [e for e in events if e["data"]["lead_id"] == str(lead_id)]

    [request] = await wait_until(requested, within=20)
    assert request["data"]["reason"] == "archive reversed"
    assert inbox[1].to(email) == []


async def test_a_lost_opportunity_puts_its_lead_in_win_back(
    nurture: tuple[TestStack, ServiceProcess], inbox: tuple[int, Inbox]
) -> None:
    stack, service = nurture
    email = "margaux@chateau-lafleur.example"
    lead_id = await capture(stack, "Margaux", email)
    await wait_until(lambda: lead_view(stack, service, lead_id))
    lost = OpportunityLost(
        opportunity_id=uuid.uuid4(),
        lead_id=lead_id,
        contact_id=uuid.uuid4(),
        amount=Decimal("48000"),
        lost_reason="chose a competitor",
    )
    await produce(
        stack, OPPORTUNITY_EVENTS, [(str(lead_id).encode(), encode(new_event(lost, source="opportunity")))]
    )

    await wait_until(lambda: _at_least(inbox[1].to(email), 1), within=30)
    assert inbox[1].to(email)[0]["Subject"] == "What we shipped since we spoke"
    view = await lead_view(stack, service, lead_id)
    assert view is not None
    assert view["enrollments"][0]["track"] == "win-back"
    async with httpx.AsyncClient(base_url=service.url) as client:
        page = await client.get("/v1/enrollments", params={"track": "win-back"}, headers=auth(stack, "read"))
        kpis = await client.get("/v1/kpis/tracks", headers=auth(stack, "read"))
        bad = await client.get("/v1/enrollments", params={"state": "sleeping"}, headers=auth(stack, "read"))
    assert [item["lead_id"] for item in page.json()["items"]] == [str(lead_id)]
    by_track = {row["track"]: row for row in kpis.json()["tracks"]}
    assert by_track["win-back"]["touches_sent"] >= 1
    assert by_track["budget-drip"]["requalified"] >= 1
    assert bad.status_code == 422


async def _at_least(messages: list[Message], count: int) -> bool:
    return len(messages) >= count
