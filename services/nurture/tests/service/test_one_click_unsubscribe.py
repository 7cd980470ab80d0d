"""RFC 8058 one-click unsubscribe, from the raw bytes of a really sent email to the next scheduler round."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from uuid import UUID

import httpx
import pytest

from leadflow_nurture.adapters.smtp import SmtpSender
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.unsubscribe import Claim, sign, token_hash
from leadflow_nurture.use_cases.scheduler import SchedulerConfig, send_due_touches
from leadflow_shared.contracts.lead import ContactChannel
from leadflow_shared.privacy import email_hash
from leadflow_shared.uow import UnitOfWorkFactory

from .conftest import LINKS, SmtpServer
from .test_scheduler import SENDER, enroll_bakers, settings_for

pytestmark = pytest.mark.service

ONE_CLICK = b"List-Unsubscribe=One-Click"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def one_round(uows: UnitOfWorkFactory, smtp: SmtpServer) -> int:
    """One scheduler round on the real SMTP server."""
    return await send_due_touches(
        uows, TrackStore(), SmtpSender(settings_for(smtp)), SchedulerConfig(SENDER, LINKS)
    )


def one_click_url(raw: bytes) -> str:
    """The https link of List-Unsubscribe, read from the message's bytes as a mailbox provider reads them."""
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    [header] = message.get_all("List-Unsubscribe") or []
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "=?" not in header
    assert "\n" not in header
    [url] = re.findall(r"<(https://[^>]+)>", header)
    return str(url)


async def event_types(uows: UnitOfWorkFactory) -> list[str]:
    rows = await uows.pool.fetch("SELECT payload FROM outbox ORDER BY id")
    return [json.loads(row["payload"])["type"] for row in rows]


async def test_a_one_click_post_to_the_link_of_a_sent_email_stops_the_next_round_from_mailing_the_baker(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer, public: httpx.AsyncClient
) -> None:
    [lead_id, _] = await enroll_bakers(uows, TrackStore(), 2)
    assert await one_round(uows, smtp_server) == 2
    raw = next(r for r in smtp_server.inbox.raw if b"ines.0@pastel-de-nata.example" in r)

    url = one_click_url(raw)
    response = await public.post(url, headers=FORM, content=ONE_CLICK)

    assert response.status_code == 200, response.text
    assert response.json()["opted_out"] is True
    assert await one_round(uows, smtp_server) == 1
    mailed = [str(m["To"]) for m in smtp_server.inbox.messages]
    assert sum("ines.0@" in to for to in mailed) == 1
    assert sum("ines.1@" in to for to in mailed) == 2
    enrollment = await uows.pool.fetchrow(
        "SELECT status, end_reason FROM enrollments WHERE lead_id = $1", lead_id
    )
    assert enrollment["status"] == "unsubscribed"
    assert (
        await uows.pool.fetchval(
            "SELECT count(*) FROM touches WHERE lead_id = $1 AND status = 'due'", lead_id
        )
        == 0
    )
    record = await uows.pool.fetchrow("SELECT * FROM consent WHERE lead_id = $1", lead_id)
    assert (record["channel"], record["opted_in"], record["source"]) == (
        "email",
        False,
        "one-click unsubscribe",
    )
    assert token_hash(url.rsplit("/", 1)[1]) in record["proof"]
    assert (
        await uows.pool.fetchval(
            "SELECT reason FROM suppressions WHERE email_hash = $1",
            email_hash("ines.0@pastel-de-nata.example"),
        )
        == "opted out"
    )
    assert (await event_types(uows)).count("nurture.consent_recorded") == 1


async def test_a_get_of_the_link_only_shows_what_a_post_would_do_so_a_mail_scanner_unsubscribes_nobody(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer, public: httpx.AsyncClient
) -> None:
    [lead_id] = await enroll_bakers(uows, TrackStore(), 1)
    await one_round(uows, smtp_server)

    response = await public.get(one_click_url(smtp_server.inbox.raw[0]))

    assert response.status_code == 200, response.text
    assert response.json()["opted_out"] is False
    assert "POST" in response.json()["detail"]
    assert await uows.pool.fetchval("SELECT count(*) FROM consent WHERE lead_id = $1", lead_id) == 0
    assert await one_round(uows, smtp_server) == 1
    assert len(smtp_server.inbox.messages) == 2


async def test_posting_the_link_twice_records_one_opt_out(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer, public: httpx.AsyncClient
) -> None:
    await enroll_bakers(uows, TrackStore(), 1)
    await one_round(uows, smtp_server)
    url = one_click_url(smtp_server.inbox.raw[0])

    first = await public.post(url, headers=FORM, content=ONE_CLICK)
    second = await public.post(url, headers=FORM, content=ONE_CLICK)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["changed_at"] == second.json()["changed_at"]
    assert (await event_types(uows)).count("nurture.consent_recorded") == 1


def token_for(lead_id: UUID, expires_at: datetime, secret: bytes = LINKS.secret) -> str:
    return sign(Claim(lead_id, ContactChannel.EMAIL, expires_at), secret)


async def test_an_expired_link_is_refused_with_410_and_says_so(
    uows: UnitOfWorkFactory, public: httpx.AsyncClient
) -> None:
    [lead_id] = await enroll_bakers(uows, TrackStore(), 1)
    token = token_for(lead_id, datetime.now(UTC) - timedelta(days=1))

    response = await public.post(f"/v1/unsubscribe/{token}", headers=FORM, content=ONE_CLICK)

    assert response.status_code == 410
    assert "expired" in response.json()["detail"]
    assert await uows.pool.fetchval("SELECT count(*) FROM consent WHERE lead_id = $1", lead_id) == 0


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        token_for(UUID(int=7), datetime(2100, 1, 1, tzinfo=UTC), b"someone-else-s-secret-of-32-chars!"),
        token_for(UUID(int=7), datetime(2100, 1, 1, tzinfo=UTC))[:-2] + "AA",
        "%00",
        "x" * 120,
    ],
    ids=["garbage", "other-secret", "tampered", "nul", "long"],
)
async def test_a_link_this_service_did_not_sign_is_refused_with_404_and_changes_nothing(
    uows: UnitOfWorkFactory, public: httpx.AsyncClient, token: str
) -> None:
    for method in ("GET", "POST"):
        response = await public.request(method, f"/v1/unsubscribe/{token}", headers=FORM, content=ONE_CLICK)
        assert response.status_code == 404, response.text
        assert "unsubscribe link" in response.json()["detail"]
    assert await uows.pool.fetchval("SELECT count(*) FROM consent") == 0


async def test_a_post_of_the_link_needs_no_token_but_the_consent_api_does(public: httpx.AsyncClient) -> None:
    response = await public.get(f"/v1/leads/{UUID(int=7)}/consent")

    assert response.status_code == 401
