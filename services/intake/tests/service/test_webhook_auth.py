"""Webhook authentication over HTTP: disabled sources, unsigned, stale or malformed requests, no oracle."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from leadflow_intake.settings import WEBHOOK_SECRETS

from .conftest import SECRETS, Intake, intake_client
from .test_webhooks import (
    CASES,
    FORM,
    JSON,
    Delivery,
    hexmac,
    hubspot,
    leads_with_email,
    linkedin,
    new_tag,
    post,
    zoom,
)

pytestmark = pytest.mark.service

HUBSPOT_URI = b"http://intake.test/v1/webhooks/hubspot"


@pytest_asyncio.fixture
async def unconfigured(intake: Intake) -> AsyncIterator[httpx.AsyncClient]:
    """Intake with the same database but no vendor secret at all."""
    blank = {name: "" for name in (*WEBHOOK_SECRETS.values(), "meta_verify_token")}
    client = intake_client(intake.settings.model_copy(update=blank), intake.pool, intake.uow)
    yield client
    await client.aclose()


def zoom_at(delivery: Delivery, timestamp: str) -> Delivery:
    """The Zoom delivery signed correctly, but for the given x-zm-request-timestamp."""
    signature = "v0=" + hexmac(SECRETS["zoom_secret_token"], f"v0:{timestamp}:".encode() + delivery.body)
    headers = {**delivery.headers, "x-zm-request-timestamp": timestamp, "x-zm-signature": signature}
    return Delivery(delivery.body, headers, email=delivery.email)


def hubspot_at(delivery: Delivery, timestamp: str) -> Delivery:
    """The HubSpot delivery signed correctly, but for the given X-HubSpot-Request-Timestamp."""
    message = b"POST" + HUBSPOT_URI + delivery.body + timestamp.encode()
    secret = SECRETS["hubspot_client_secret"].encode()
    signature = base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest()).decode()
    headers = {
        **delivery.headers,
        "X-HubSpot-Request-Timestamp": timestamp,
        "X-HubSpot-Signature-v3": signature,
    }
    return Delivery(delivery.body, headers, email=delivery.email)


def on_the_wire(delivery: Delivery) -> dict[bytes, bytes]:
    """The delivery's headers as the bytes a client sends: "²" is the single latin-1 byte 0xB2."""
    return {name.encode("latin-1"): value.encode("latin-1") for name, value in delivery.headers.items()}


async def refused(intake: Intake, source: str, delivery: Delivery, code: int = 401) -> str:
    """Post the delivery, expect the code, check nothing became a lead; return the message."""
    response = await intake.client.post(
        f"/v1/webhooks/{source}", content=delivery.body, headers=on_the_wire(delivery), params=delivery.params
    )
    assert response.status_code == code, response.text
    await intake.drain()
    assert await leads_with_email(intake, delivery.email) == []
    detail: str = response.json()["detail"]
    return detail


# A source without its secret is disabled


@pytest.mark.parametrize("source", list(CASES))
async def test_a_source_whose_secret_is_not_set_refuses_even_a_genuine_delivery_with_403(
    intake: Intake, unconfigured: httpx.AsyncClient, source: str
) -> None:
    build, system, _ = CASES[source]
    delivery = build(new_tag(), intake.vendor, False)
    response = await unconfigured.post(
        f"/v1/webhooks/{source}", content=delivery.body, headers=delivery.headers, params=delivery.params
    )
    assert response.status_code == 403
    assert response.json()["detail"] == (
        f"{system} webhooks are disabled: INTAKE_{WEBHOOK_SECRETS[system].upper()} is not set"
    )
    await intake.drain()
    assert await leads_with_email(intake, delivery.email) == []


async def test_handshakes_of_unconfigured_sources_are_refused_with_403(
    unconfigured: httpx.AsyncClient,
) -> None:
    linkedin_check = await unconfigured.get(
        "/v1/webhooks/linkedin", params={"challengeCode": "890e4ac4-6a0a-4a5e-9a6e-3e2c8c8e9b1f"}
    )
    meta_check = await unconfigured.get(
        "/v1/webhooks/meta", params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": ""}
    )
    mailchimp_check = await unconfigured.get("/v1/webhooks/mailchimp")
    assert [linkedin_check.status_code, meta_check.status_code, mailchimp_check.status_code] == [
        403,
        403,
        403,
    ]
    assert "INTAKE_LINKEDIN_CLIENT_SECRET" in linkedin_check.json()["detail"]
    assert "INTAKE_META_VERIFY_TOKEN" in meta_check.json()["detail"]


async def test_an_unsigned_linkedin_notification_is_refused_with_401_when_a_secret_is_set(
    intake: Intake,
) -> None:
    delivery = linkedin(new_tag(), intake.vendor)
    del delivery.headers["X-LI-Signature"]
    assert "X-LI-Signature" in await refused(intake, "linkedin", delivery)


async def test_an_unsigned_linkedin_notification_is_refused_with_403_when_no_secret_is_set(
    intake: Intake, unconfigured: httpx.AsyncClient
) -> None:
    delivery = linkedin(new_tag(), intake.vendor)
    del delivery.headers["X-LI-Signature"]
    response = await unconfigured.post(
        "/v1/webhooks/linkedin", content=delivery.body, headers=delivery.headers
    )
    assert response.status_code == 403
    await intake.drain()
    assert await leads_with_email(intake, delivery.email) == []


# No signing oracle


async def test_the_linkedin_challenge_never_signs_a_body_so_it_cannot_forge_a_notification(
    intake: Intake,
) -> None:
    delivery = linkedin(new_tag(), intake.vendor)
    oracle = await intake.client.get(
        "/v1/webhooks/linkedin", params={"challengeCode": "hmacsha256=" + delivery.body.decode()}
    )
    assert oracle.status_code == 400
    assert "challengeCode" in oracle.json()["detail"]
    assert "challengeResponse" not in oracle.text
    for code in ['{"type":"LEAD_ACTION"}', "a" * 65, "hmacsha256=0"]:
        answer = await intake.client.get("/v1/webhooks/linkedin", params={"challengeCode": code})
        assert answer.status_code == 400, code


async def test_a_zoom_url_validation_with_a_token_of_another_shape_is_refused(intake: Intake) -> None:
    body = b'{"event":"endpoint.url_validation","event_ts":1,"payload":{"plainToken":"v0:1:{}"}}'
    signed = zoom_at(Delivery(body, dict(JSON)), str(int(time.time())))
    response = await intake.client.post("/v1/webhooks/zoom", content=signed.body, headers=signed.headers)
    assert response.status_code == 422
    assert "plainToken" in response.json()["detail"]
    assert "encryptedToken" not in response.text


# No replays: timestamps outside five minutes, and malformed ones, are 401


@pytest.mark.parametrize(
    "timestamp",
    [
        "1577836800",  # 2020-01-01
        str(int(time.time()) - 3600),
        str(int(time.time()) + 3600),
        "abc",
        "²",
        "9" * 40,
        "",
    ],
)
async def test_a_zoom_delivery_signed_for_a_stale_future_or_malformed_timestamp_is_refused_with_401(
    intake: Intake, timestamp: str
) -> None:
    delivery = zoom_at(zoom(new_tag()), timestamp)
    assert "x-zm-request-timestamp" in await refused(intake, "zoom", delivery)


@pytest.mark.parametrize(
    "timestamp",
    [
        "²",
        "abc",
        "9" * 40,
        str(int(time.time() * 1000) - 3_600_000),
        str(int(time.time() * 1000) + 600_000),
        "1577836800000",
    ],
)
async def test_a_hubspot_delivery_signed_for_a_stale_future_or_malformed_timestamp_is_refused_with_401(
    intake: Intake, timestamp: str
) -> None:
    delivery = hubspot_at(hubspot(new_tag(), intake.vendor), timestamp)
    assert "X-HubSpot-Request-Timestamp" in await refused(intake, "hubspot", delivery)


async def test_a_hubspot_delivery_signed_just_now_is_accepted(intake: Intake) -> None:
    delivery = hubspot_at(hubspot(new_tag(), intake.vendor), str(int(time.time() * 1000)))
    assert await post(intake, "hubspot", delivery) in (200, 202)


@pytest.mark.parametrize(
    ("source", "header", "value"),
    [
        ("meta", "X-Hub-Signature-256", b"sha256=\xff\xfe" + b"0" * 62),
        ("meta", "X-Hub-Signature-256", b"sha1=0123"),
        ("linkedin", "X-LI-Signature", b"hmacsha256=\xc3\xa9"),
        ("hubspot", "X-HubSpot-Signature-v3", b"\xb2\xb2 not base64"),
        ("zoom", "x-zm-signature", b"v0=\xb2"),
        ("zoom", "x-zm-request-timestamp", b"\xb2"),
        ("hubspot", "X-HubSpot-Request-Timestamp", b"\xb2"),
    ],
)
async def test_a_malformed_signature_header_is_refused_with_401_never_500(
    intake: Intake, source: str, header: str, value: bytes
) -> None:
    build, _, _ = CASES[source]
    delivery = build(new_tag(), intake.vendor, False)
    headers = on_the_wire(delivery) | {header.encode(): value}
    response = await intake.client.post(f"/v1/webhooks/{source}", content=delivery.body, headers=headers)
    assert response.status_code == 401, response.text


# Bodies that are not what their content type says are 400


@pytest.mark.parametrize("source", ["mailchimp", "activecampaign", "salesforce-web-to-lead"])
@pytest.mark.parametrize(
    "body", [b"type=subscribe&data[email]=j\xfcrgen@example.com", b"data[merges][FNAME]=J%FCrgen"]
)
async def test_a_form_webhook_that_is_not_utf8_is_refused_with_400_naming_it(
    intake: Intake, source: str, body: bytes
) -> None:
    build, _, _ = CASES[source]
    genuine = build(new_tag(), intake.vendor, False)
    response = await intake.client.post(
        f"/v1/webhooks/{source}", content=body, headers=genuine.headers, params=genuine.params
    )
    assert response.status_code == 400
    assert "not valid UTF-8" in response.json()["detail"]


def signed_garbage(source: str, body: bytes) -> Delivery:
    """A body signed correctly for the source, so only its parsing can fail."""
    now = time.time()
    if source == "meta":
        return Delivery(
            body, {**JSON, "X-Hub-Signature-256": "sha256=" + hexmac(SECRETS["meta_app_secret"], body)}
        )
    if source == "linkedin":
        signature = hexmac(SECRETS["linkedin_client_secret"], b"hmacsha256=" + body)
        return Delivery(body, {**JSON, "X-LI-Signature": signature})
    if source == "hubspot":
        return hubspot_at(Delivery(body, dict(JSON)), str(int(now * 1000)))
    if source == "zoom":
        return zoom_at(Delivery(body, dict(JSON)), str(int(now)))
    return Delivery(body, dict(JSON))


@pytest.mark.parametrize("source", ["google-ads", "meta", "linkedin", "hubspot", "zoom"])
@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe{}", b'{"a": 1', b""])
async def test_a_json_webhook_whose_body_is_not_json_is_refused_with_400(
    intake: Intake, source: str, body: bytes
) -> None:
    delivery = signed_garbage(source, body)
    response = await intake.client.post(
        f"/v1/webhooks/{source}", content=delivery.body, headers=delivery.headers
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


async def test_a_form_webhook_with_its_secret_only_in_the_body_is_refused(intake: Intake) -> None:
    fields = b"type=subscribe&secret=" + SECRETS["mailchimp_secret"].encode()
    response = await intake.client.post("/v1/webhooks/mailchimp", content=fields, headers=FORM)
    assert response.status_code == 401


async def test_the_google_key_is_neither_stored_nor_shown_in_quarantine(intake: Intake) -> None:
    build, _, _ = CASES["google-ads"]
    delivery = build(new_tag(), intake.vendor, True)
    response = await intake.client.post(
        "/v1/webhooks/google-ads", content=delivery.body, headers=delivery.headers
    )
    assert response.status_code == 200
    received_id = response.json()["received_id"]
    async with intake.pool.acquire() as conn:
        stored = await conn.fetchval(
            # Only this delivery's rows: another test's dead-letter copy need not be UTF-8.
            "SELECT convert_from(payload, 'UTF8') FROM outbox WHERE position($1::bytea IN payload) > 0",
            received_id.encode(),
        )
    await intake.drain()
    quarantine = await intake.client.get("/v1/rejections", params={"limit": 500}, headers=intake.auth("read"))
    assert received_id in stored
    assert "TeSter-" in quarantine.text
    assert SECRETS["google_ads_key"] not in stored
    assert SECRETS["google_ads_key"] not in quarantine.text
