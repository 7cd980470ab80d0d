"""GET and PUT /v1/leads/{id}/consent: per channel, with source, time and proof; an opt-out stops mail."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from leadflow_devstack.testing import TestStack, api_client
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.entrypoints import http
from leadflow_nurture.settings import NurtureSettings
from leadflow_shared.contracts.lead import LeadProfile
from leadflow_shared.uow import UnitOfWorkFactory

from .conftest import SmtpServer, state
from .test_one_click_unsubscribe import event_types, one_round
from .test_scheduler import enroll_bakers

pytestmark = pytest.mark.service

OPT_OUT = {
    "channel": "email",
    "opted_in": False,
    "source": "support desk",
    "proof": "ticket 4411: Inês asked by phone to stop all email",
}


def channel(body: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in body["channels"] if c["channel"] == name)
    return found


async def test_an_opt_out_put_by_hand_is_kept_with_its_proof_and_the_next_round_sends_nothing(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer, api: httpx.AsyncClient
) -> None:
    [lead_id] = await enroll_bakers(uows, TrackStore(), 1)

    put = await api.put(f"/v1/leads/{lead_id}/consent", json=OPT_OUT)

    assert put.status_code == 200, put.text
    email = channel(put.json(), "email")
    assert (email["opted_in"], email["source"], email["proof"]) == (False, "support desk", OPT_OUT["proof"])
    assert email["changed_at"] is not None
    assert put.json()["suppression"]["reason"] == "opted out"
    assert await one_round(uows, smtp_server) == 0
    assert smtp_server.inbox.messages == []
    assert (
        await uows.pool.fetchval("SELECT status FROM enrollments WHERE lead_id = $1", lead_id)
        == "unsubscribed"
    )
    assert (await api.get(f"/v1/leads/{lead_id}/consent")).json() == put.json()
    assert (await event_types(uows)).count("nurture.consent_recorded") == 1


async def test_every_channel_is_shown_and_one_without_a_record_tells_what_the_profile_says(
    uows: UnitOfWorkFactory, api: httpx.AsyncClient
) -> None:
    lead_id = uuid4()
    profile = LeadProfile(email="rui@transportes-lusos.example", consent={"email": True, "sms": False})
    await uows.pool.execute(
        "INSERT INTO leads (id, status, profile) VALUES ($1, 'nurturing', $2)",
        lead_id,
        profile.model_dump(mode="json"),
    )
    await api.put(f"/v1/leads/{lead_id}/consent", json={**OPT_OUT, "channel": "phone", "reason": "no calls"})

    body = (await api.get(f"/v1/leads/{lead_id}/consent")).json()

    assert [c["channel"] for c in body["channels"]] == ["email", "phone", "sms"]
    assert (channel(body, "email")["opted_in"], channel(body, "email")["source"]) == (True, "profile")
    assert (channel(body, "sms")["opted_in"], channel(body, "sms")["source"]) == (False, "profile")
    assert (channel(body, "phone")["opted_in"], channel(body, "phone")["reason"]) == (False, "no calls")
    assert body["suppression"] is None


async def test_consent_for_a_lead_nurture_has_not_heard_of_is_kept_and_shown_but_nothing_is_404(
    api: httpx.AsyncClient,
) -> None:
    early, unknown = uuid4(), uuid4()

    assert (await api.get(f"/v1/leads/{unknown}/consent")).status_code == 404
    put = await api.put(f"/v1/leads/{early}/consent", json=OPT_OUT)

    assert put.status_code == 200, put.text
    got = await api.get(f"/v1/leads/{early}/consent")
    assert channel(got.json(), "email")["opted_in"] is False


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in OPT_OUT.items() if k != "proof"},
        {**OPT_OUT, "proof": ""},
        {**OPT_OUT, "channel": "carrier_pigeon"},
        {**OPT_OUT, "source": "x" * 201},
        {**OPT_OUT, "proof": "ticket\x004411"},
        {**OPT_OUT, "opted_in": "maybe"},
        {**OPT_OUT, "opted_in": 0},
        {**OPT_OUT, "at": "yesterday"},
    ],
    ids=[
        "no-proof",
        "empty-proof",
        "unknown-channel",
        "long-source",
        "nul",
        "not-a-bool",
        "a-number",
        "unknown-field",
    ],
)
async def test_a_consent_change_without_proof_or_on_no_channel_is_refused_with_422(
    api: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    lead_id = UUID(int=11)

    response = await api.put(f"/v1/leads/{lead_id}/consent", json=body)

    assert response.status_code == 422, response.text
    assert (await api.get(f"/v1/leads/{lead_id}/consent")).status_code == 404


async def test_a_read_token_cannot_change_consent(service_stack: TestStack, uows: UnitOfWorkFactory) -> None:
    async with api_client(
        service_stack, NurtureSettings, [http.router], uows.pool, "read", state()
    ) as reader:
        response = await reader.put(f"/v1/leads/{uuid4()}/consent", json=OPT_OUT)

    assert response.status_code == 403
