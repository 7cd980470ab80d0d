"""The suppression list: an address that opted out or bounced is never mailed again, whoever carries it."""

from __future__ import annotations

from uuid import UUID

import httpx
import pytest

from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_shared.privacy import email_hash
from leadflow_shared.uow import UnitOfWorkFactory

from .conftest import SmtpServer
from .test_consent_api import OPT_OUT
from .test_one_click_unsubscribe import one_round
from .test_scheduler import enroll_bakers
from .test_sending_failures import readdress

pytestmark = pytest.mark.service

INES = "ines.0@pastel-de-nata.example"
GONE = "gone@pastel-de-nata.example"


async def erase(uows: UnitOfWorkFactory, lead_id: UUID) -> None:
    """What erasure leaves of a lead in nurture: nothing of its own, the suppression list untouched."""
    async with uows() as uow:
        for table in ("touches", "enrollments", "consent", "leads"):
            column = "id" if table == "leads" else "lead_id"
            await uow.conn.execute(f"DELETE FROM {table} WHERE {column} = $1", lead_id)
        await uow.conn.execute("DELETE FROM undeliverable")


async def touch_status(uows: UnitOfWorkFactory, lead_id: UUID) -> str:
    status: str = await uows.pool.fetchval(
        "SELECT status FROM touches WHERE lead_id = $1 AND step = 1", lead_id
    )
    return status


async def test_a_new_lead_with_the_address_of_an_erased_lead_that_opted_out_is_never_mailed(
    uows: UnitOfWorkFactory,
    smtp_server: SmtpServer,
    api: httpx.AsyncClient,
) -> None:
    [first] = await enroll_bakers(uows, TrackStore(), 1)
    assert (await api.put(f"/v1/leads/{first}/consent", json=OPT_OUT)).status_code == 200
    await erase(uows, first)

    [again] = await enroll_bakers(uows, TrackStore(), 1)
    await readdress(uows, again, "  Ines.0@Pastel-de-Nata.example ")
    await one_round(uows, smtp_server)

    assert smtp_server.inbox.messages == []
    assert await touch_status(uows, again) == "skipped_suppressed"
    consent = (await api.get(f"/v1/leads/{again}/consent")).json()
    assert consent["suppression"]["reason"] == "opted out"
    assert (
        await uows.pool.fetchval("SELECT count(*) FROM suppressions WHERE email_hash = $1", email_hash(INES))
        == 1
    )


async def test_a_permanent_bounce_puts_the_address_on_the_list_and_a_later_lead_with_it_is_skipped(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    smtp_server.inbox.refuse[GONE] = "550 5.1.1 <gone@pastel-de-nata.example>: no such user"
    [first] = await enroll_bakers(uows, TrackStore(), 1)
    await readdress(uows, first, GONE)
    await one_round(uows, smtp_server)
    assert (
        await uows.pool.fetchval("SELECT reason FROM suppressions WHERE email_hash = $1", email_hash(GONE))
        == "bounced"
    )
    await erase(uows, first)

    [again] = await enroll_bakers(uows, TrackStore(), 1)
    await readdress(uows, again, GONE)
    await one_round(uows, smtp_server)

    assert smtp_server.inbox.refused == [GONE]
    assert await touch_status(uows, again) == "skipped_suppressed"


async def test_an_explicit_opt_in_lifts_an_opt_out_but_never_a_bounce(
    uows: UnitOfWorkFactory,
    smtp_server: SmtpServer,
    api: httpx.AsyncClient,
) -> None:
    [back, bounced] = await enroll_bakers(uows, TrackStore(), 2)
    await readdress(uows, bounced, GONE)
    await uows.pool.execute(
        "INSERT INTO suppressions (email_hash, reason, source) VALUES ($1, 'bounced', 'smtp')",
        email_hash(GONE),
    )
    opt_in = {
        **OPT_OUT,
        "opted_in": True,
        "proof": "signed the newsletter form again, double opt-in 2026-03-02",
    }
    for lead_id in (back, bounced):
        await api.put(f"/v1/leads/{lead_id}/consent", json=OPT_OUT)
        answer = await api.put(f"/v1/leads/{lead_id}/consent", json=opt_in)
        assert answer.status_code == 200, answer.text

    suppressed = {row["email_hash"] for row in await uows.pool.fetch("SELECT email_hash FROM suppressions")}
    assert suppressed == {email_hash(GONE)}
    assert (await api.get(f"/v1/leads/{back}/consent")).json()["suppression"] is None
