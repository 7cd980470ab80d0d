"""One person reaches leadflow through three sources and stays one lead, in intake and in qualification."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from leadflow_devstack.testing import Db, ServiceProcess, TestStack, produce, wait_until
from leadflow_shared.contracts.envelope import encode, new_event
from leadflow_shared.contracts.events import LeadSubmitted, RawLeadSubmitted
from leadflow_shared.contracts.lead import Channel, LeadSubmission
from leadflow_shared.contracts.topics import LEADS_SUBMITTED

pytestmark = pytest.mark.e2e


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_same_person_through_three_sources_is_one_lead_with_three_touches(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    tag = uuid.uuid4().hex[:8]
    email = f"amara.okafor.{tag}@harbourline-freight.example"
    intake = running_services["intake"]
    website = LeadSubmission(
        full_name="Amara Okafor",
        email=email,
        company="Harbourline Freight Ltd",
        country="United Kingdom",
        channel=Channel.WEB_FORM,
        source_system="website",
        source_id=f"contact-form-{tag}",
    )
    async with httpx.AsyncClient(base_url=intake.url) as client:
        response = await client.post(
            "/v1/leads", json=website.model_dump(mode="json"), headers=auth(test_stack.tokens["write"])
        )
        assert response.status_code == 202, response.text

    async def one_lead() -> str | None:
        async with httpx.AsyncClient(base_url=intake.url) as client:
            items = (
                await client.get(
                    "/v1/leads", params={"email": email}, headers=auth(test_stack.tokens["read"])
                )
            ).json()["items"]
        return str(items[0]["id"]) if items else None

    lead_id = await wait_until(one_lead)
    google_ads = {
        "lead_id": f"TeSter-{tag}-HARBOURLINE",
        "api_version": "1.0",
        "campaign_id": 20123456789,
        "google_key": "not checked on the trusted topic",
        "is_test": False,
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "Amara Okafor", "column_id": "FULL_NAME"},
            {"column_name": "User Email", "string_value": email.upper(), "column_id": "EMAIL"},
            {"column_name": "Job Title", "string_value": "Head of Procurement", "column_id": "JOB_TITLE"},
        ],
    }
    zoom = {
        "event": "webinar.registration_created",
        "event_ts": 1741083300000,
        "payload": {
            "object": {
                "id": 81234567890,
                "topic": "Freight Visibility Webinar",
                "registrant": {
                    "id": f"reg-{tag}",
                    "first_name": "Amara",
                    "last_name": "Okafor",
                    "email": email,
                    "org": "Harbourline Freight",
                    "purchasing_time_frame": "Within a month",
                },
            }
        },
    }
    canonical_again = website.model_copy(update={"source_id": f"contact-form-{tag}"})
    await produce(
        test_stack,
        LEADS_SUBMITTED,
        [
            (
                None,
                encode(
                    new_event(RawLeadSubmitted(source="google-ads", payload=google_ads), source="upstream")
                ),
            )
            for _ in range(2)
        ]
        + [(None, encode(new_event(RawLeadSubmitted(source="zoom", payload=zoom), source="upstream")))]
        + [(None, encode(new_event(LeadSubmitted(submission=canonical_again), source="upstream")))],
    )

    async def three_touches() -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=intake.url) as client:
            lead = (await client.get(f"/v1/leads/{lead_id}", headers=auth(test_stack.tokens["read"]))).json()
        return lead if len(lead["touches"]) >= 3 and lead["profile"].get("job_title") else None

    lead = await wait_until(three_touches)
    assert sorted(t["source_system"] for t in lead["touches"]) == ["google_ads", "website", "zoom"]
    assert lead["profile"]["job_title"] == "Head of Procurement"
    assert await one_lead() == lead_id

    async def known_to_qualification() -> bool:
        async with httpx.AsyncClient(base_url=running_services["qualification"].url) as client:
            response = await client.get(f"/v1/leads/{lead_id}", headers=auth(test_stack.tokens["read"]))
        return response.status_code == 200

    await wait_until(known_to_qualification)
    captured = await Db(test_stack, "intake").fetchval(
        "SELECT count(*) FROM leads l JOIN identity_keys k ON k.lead_id = l.id"
        " WHERE k.kind = 'email' AND k.value = $1",
        email,
    )
    assert captured == 1
    all_ids = await Db(test_stack, "intake").fetch(
        "SELECT DISTINCT lead_id FROM touches WHERE source_id LIKE $1", f"%{tag}%"
    )
    assert [str(r["lead_id"]) for r in all_ids] == [lead_id]
