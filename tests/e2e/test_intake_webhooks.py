"""A vendor's webhook, sent to the intake process as the vendor sends it, becomes a lead in every service."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

import httpx
import orjson
import pytest

from leadflow_devstack.testing import Db, ServiceProcess, TestStack, wait_until

pytestmark = pytest.mark.e2e


def google_ads_lead(key: str, email: str) -> bytes:
    return orjson.dumps(
        {
            "lead_id": f"TeSter-{uuid.uuid4().hex}",
            "api_version": "1.0",
            "form_id": 123456789012,
            "campaign_id": 20123456789,
            "adgroup_id": 150123456789,
            "creative_id": 690123456789,
            "gcl_id": "EAIaIQobChMI_example",
            "google_key": key,
            "is_test": False,
            "lead_submit_time": "2026-11-20T10:15:00Z",
            "user_column_data": [
                {"column_name": "Full Name", "string_value": "Hedy Lamarr", "column_id": "FULL_NAME"},
                {"column_name": "User Email", "string_value": email, "column_id": "EMAIL"},
                {
                    "column_name": "Company Name",
                    "string_value": "Frequency Hopping AG",
                    "column_id": "COMPANY_NAME",
                },
                {"column_name": "Country", "string_value": "Austria", "column_id": "COUNTRY"},
            ],
        }
    )


async def test_a_google_ads_lead_form_webhook_becomes_one_lead_and_a_forged_one_is_refused(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    email = f"hedy.{uuid.uuid4().hex[:8]}@frequency-hopping.example"
    body = google_ads_lead(test_stack.webhook_secret, email)
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=running_services["intake"].url) as client:
        genuine = await client.post("/v1/webhooks/google-ads", content=body, headers=headers)
        again = await client.post("/v1/webhooks/google-ads", content=body, headers=headers)
        forged = await client.post(
            "/v1/webhooks/google-ads", content=google_ads_lead("guessed-key", f"x.{email}"), headers=headers
        )
        unknown = await client.post("/v1/webhooks/carrier-pigeon", content=body, headers=headers)
    assert genuine.status_code == 200, genuine.text
    assert again.status_code == 200
    assert forged.status_code == 401
    assert unknown.status_code == 404

    intake = Db(test_stack, "intake")
    lead_id = await wait_until(lambda: intake.fetchval("SELECT id FROM leads WHERE email = $1", email))
    qualification = Db(test_stack, "qualification")
    await wait_until(lambda: qualification.fetchval("SELECT status FROM leads WHERE id = $1", lead_id))
    assert await intake.fetchval("SELECT count(*) FROM touches WHERE lead_id = $1", lead_id) == 1
    assert await intake.fetchval("SELECT count(*) FROM leads WHERE email = $1", f"x.{email}") == 0
    profile = orjson.loads(await intake.fetchval("SELECT profile FROM leads WHERE id = $1", lead_id))
    assert profile["country"] == "AT"
    assert profile["company_domain"] == "frequency-hopping.example"


def zoom_signed(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    signature = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "x-zm-request-timestamp": str(timestamp),
        "x-zm-signature": f"v0={signature}",
    }


async def test_a_signed_zoom_registration_becomes_a_lead_and_the_same_one_signed_an_hour_ago_is_refused(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    email = f"grace.{uuid.uuid4().hex[:8]}@compiler-works.example"
    body = orjson.dumps(
        {
            "event": "webinar.registration_created",
            "event_ts": int(time.time() * 1000),
            "payload": {
                "object": {
                    "id": 81234567890,
                    "topic": "Compilers for Everyone",
                    "registrant": {
                        "id": f"reg-{uuid.uuid4().hex}",
                        "first_name": "Grace",
                        "last_name": "Hopper",
                        "email": email,
                        "org": "Compiler Works Inc",
                    },
                },
            },
        }
    )
    now = int(time.time())
    async with httpx.AsyncClient(base_url=running_services["intake"].url) as client:
        replayed = await client.post(
            "/v1/webhooks/zoom",
            content=body,
            headers=zoom_signed(test_stack.webhook_secret, body, now - 3600),
        )
        genuine = await client.post(
            "/v1/webhooks/zoom", content=body, headers=zoom_signed(test_stack.webhook_secret, body, now)
        )
    assert replayed.status_code == 401
    assert genuine.status_code == 200, genuine.text

    intake = Db(test_stack, "intake")
    lead_id = await wait_until(lambda: intake.fetchval("SELECT id FROM leads WHERE email = $1", email))
    assert await intake.fetchval("SELECT count(*) FROM touches WHERE lead_id = $1", lead_id) == 1
