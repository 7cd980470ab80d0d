"""The sender on a real SMTP server: one bad email fails alone, with its reason, and never stalls a round."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from prometheus_client import REGISTRY

from leadflow_devstack.testing import free_port
from leadflow_nurture.adapters.smtp import NO_SMTPUTF8, SmtpSender
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.adapters.views import lead_overview
from leadflow_nurture.domain.delivery import RetryPolicy
from leadflow_nurture.domain.email import Sender
from leadflow_nurture.domain.unsubscribe import UnsubscribeLinks, verify
from leadflow_nurture.settings import NurtureSettings
from leadflow_nurture.use_cases.scheduler import SchedulerConfig, send_due_touches
from leadflow_shared.uow import UnitOfWorkFactory

from .conftest import LINKS, SmtpServer
from .test_scheduler import SENDER, drain, enroll_bakers, settings_for

pytestmark = pytest.mark.service

GONE = "gone@pastel-de-nata.example"
SLOW = "slow@pastel-de-nata.example"
INES = "inês@pastelaria-açúcar.example"


async def readdress(uows: UnitOfWorkFactory, lead_id: UUID, email: str) -> None:
    """Give a baker another email address in nurture's read model."""
    await uows.pool.execute(
        "UPDATE leads SET profile = jsonb_set(profile, '{email}', to_jsonb($2::text)) WHERE id = $1",
        lead_id,
        email,
    )


async def first_touch(uows: UnitOfWorkFactory, lead_id: UUID) -> dict[str, object]:
    row = await uows.pool.fetchrow(
        "SELECT status, attempts, failure, last_error, due_at > now() AS deferred FROM touches"
        " WHERE lead_id = $1 AND step = 1",
        lead_id,
    )
    return dict(row)


def failed(kind: str) -> float:
    return REGISTRY.get_sample_value("leadflow_nurture_touches_failed_total", {"kind": kind}) or 0.0


def timeout_settings(port: int) -> NurtureSettings:
    return NurtureSettings(database_url="postgresql://unused@localhost/x", smtp_port=port, smtp_timeout_s=1)


async def test_a_bad_address_a_bounce_and_a_non_ascii_address_fail_alone_and_the_good_bakers_get_theirs(
    uows: UnitOfWorkFactory, ascii_smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    bad, gone, ines, _, _ = await enroll_bakers(uows, store, 5)
    await readdress(uows, bad, "not an address")
    await readdress(uows, gone, GONE)
    await readdress(uows, ines, INES)
    ascii_smtp_server.inbox.refuse[GONE] = "550 5.1.1 <gone@pastel-de-nata.example>: no such user"
    before = {kind: failed(kind) for kind in ("unsendable", "undeliverable")}

    # The failing touches come due first: one round settles every touch all the same.
    assert (
        await send_due_touches(
            uows, store, SmtpSender(settings_for(ascii_smtp_server)), SchedulerConfig(SENDER, LINKS)
        )
        == 5
    )

    assert sorted(str(m["To"]) for m in ascii_smtp_server.inbox.messages) == [
        "Inês Baker3 <ines.3@pastel-de-nata.example>",
        "Inês Baker4 <ines.4@pastel-de-nata.example>",
    ]
    touch = await first_touch(uows, bad)
    assert (touch["status"], touch["failure"]) == ("failed", "unsendable")
    assert "not an email address: 'not an address'" in str(touch["last_error"])
    touch = await first_touch(uows, gone)
    assert (touch["status"], touch["failure"]) == ("failed", "undeliverable")
    assert "5.1.1" in str(touch["last_error"])
    touch = await first_touch(uows, ines)
    assert (touch["status"], touch["failure"]) == ("failed", "unsendable")
    assert NO_SMTPUTF8 in str(touch["last_error"])
    assert await uows.pool.fetchval("SELECT email FROM undeliverable") == GONE
    assert failed("unsendable") - before["unsendable"] == 2
    assert failed("undeliverable") - before["undeliverable"] == 1
    assert await uows.pool.fetchval("SELECT count(*) FROM touches WHERE status = 'due' AND step = 2") == 5


async def test_a_bounced_address_gets_nothing_more_while_the_track_goes_on(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    gone, _ = await enroll_bakers(uows, store, 2)
    await readdress(uows, gone, GONE)
    smtp_server.inbox.refuse[GONE] = "550 5.1.1 no such user"

    await drain(uows, store, SmtpSender(settings_for(smtp_server)))

    assert smtp_server.inbox.refused == [GONE]
    assert len(smtp_server.inbox.to("ines.1@pastel-de-nata.example")) == 3
    statuses = await uows.pool.fetch("SELECT status FROM touches WHERE lead_id = $1 ORDER BY step", gone)
    assert [row["status"] for row in statuses] == ["failed", "skipped_undeliverable", "skipped_undeliverable"]
    enrollment = await uows.pool.fetchrow("SELECT * FROM enrollments WHERE lead_id = $1", gone)
    assert (enrollment["touches_sent"], enrollment["touches_skipped"]) == (0, 3)
    assert enrollment["exhaust_at"] is not None
    async with uows() as uow:
        overview = await lead_overview(uow.conn, gone)
    assert overview is not None
    [failed_touch] = overview["touches_failed"]
    assert (failed_touch["step"], failed_touch["failure"]) == (1, "undeliverable")
    assert "no such user" in failed_touch["last_error"]
    assert [t["status"] for t in overview["touches_skipped"]] == ["skipped_undeliverable"] * 2


async def test_a_greylisting_server_gets_a_bounded_number_of_tries_then_the_touch_fails_with_its_reason(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    slow, _ = await enroll_bakers(uows, store, 2)
    await readdress(uows, slow, SLOW)
    smtp_server.inbox.refuse[SLOW] = "451 4.7.1 greylisted, try again later"
    config = SchedulerConfig(SENDER, LINKS, retry=RetryPolicy(max_attempts=3, first_delay=timedelta(0)))

    for _ in range(10):
        await send_due_touches(uows, store, SmtpSender(settings_for(smtp_server)), config)

    # Each of the three steps is tried three times, fails, and the track moves on to the next.
    assert smtp_server.inbox.refused == [SLOW] * 9
    touches = await uows.pool.fetch("SELECT status, attempts, failure FROM touches WHERE lead_id = $1", slow)
    assert [tuple(row) for row in touches] == [("failed", 3, "transient")] * 3
    touch = await first_touch(uows, slow)
    assert str(touch["last_error"]).startswith("gave up after 3 attempts: ")
    assert "greylisted" in str(touch["last_error"])
    assert len(smtp_server.inbox.to("ines.1@pastel-de-nata.example")) == 3


async def test_a_non_ascii_address_goes_out_with_smtputf8_when_the_server_offers_it(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    [ines] = await enroll_bakers(uows, store, 1)
    await readdress(uows, ines, INES)

    await send_due_touches(uows, store, SmtpSender(settings_for(smtp_server)), SchedulerConfig(SENDER, LINKS))

    [options] = smtp_server.inbox.mail_options
    assert "SMTPUTF8" in options
    [raw] = smtp_server.inbox.raw
    assert "To: Inês Baker0 <inês@pastelaria-açúcar.example>".encode() in raw.split(b"\r\n")
    assert (await first_touch(uows, ines))["status"] == "sent"


async def test_list_unsubscribe_reaches_the_server_on_one_unencoded_line_for_one_click(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    [lead_id] = await enroll_bakers(uows, store, 1)
    sender = Sender(
        email="hello@orbital-bakery.example",
        display_name="Orbital Bakery",
        unsubscribe_url="https://mail.orbital-bakery.example/lists/pastry-news",
        unsubscribe_mailto="unsubscribe@orbital-bakery.example",
    )
    links = UnsubscribeLinks("https://mail.orbital-bakery.example/lists/pastry-news", LINKS.secret)

    await send_due_touches(uows, store, SmtpSender(settings_for(smtp_server)), SchedulerConfig(sender, links))

    [raw] = smtp_server.inbox.raw
    lines = raw.split(b"\r\n\r\n")[0].split(b"\r\n")
    at = next(n for n, line in enumerate(lines) if line.lower().startswith(b"list-unsubscribe:"))
    prefix = (
        b"List-Unsubscribe: <mailto:unsubscribe@orbital-bakery.example>, <https://mail.orbital-bakery.example"
        b"/lists/pastry-news/v1/unsubscribe/"
    )
    assert lines[at].startswith(prefix)
    assert lines[at].endswith(b">")
    token = lines[at][len(prefix) : -1].decode()
    assert verify(token, LINKS.secret, datetime.now(UTC)).lead_id == lead_id
    assert not lines[at + 1].startswith((b" ", b"\t"))
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in lines


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that takes TCP connections and never says a word (an SMTP server that hangs)."""
    port = free_port()
    with socket.create_server(("127.0.0.1", port), backlog=16):
        yield port


async def test_a_server_that_never_greets_costs_a_round_one_timeout_and_the_touches_wait_for_it(
    uows: UnitOfWorkFactory, silent_server: int
) -> None:
    store = TrackStore()
    leads = await enroll_bakers(uows, store, 3)

    started = time.monotonic()
    settled = await send_due_touches(
        uows, store, SmtpSender(timeout_settings(silent_server)), SchedulerConfig(SENDER, LINKS)
    )

    assert time.monotonic() - started < 5
    assert settled == 0
    for lead_id in leads:
        touch = await first_touch(uows, lead_id)
        assert (touch["status"], touch["attempts"], touch["deferred"]) == ("due", 0, True)
        assert "Timeout" in str(touch["last_error"]) or "timed out" in str(touch["last_error"]).lower()


async def test_a_server_that_hangs_on_one_email_times_out_on_it_and_still_takes_the_others(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    slow, _, _ = await enroll_bakers(uows, store, 3)
    await readdress(uows, slow, SLOW)
    smtp_server.inbox.hang.add(SLOW)

    started = time.monotonic()
    await send_due_touches(
        uows, store, SmtpSender(timeout_settings(smtp_server.port)), SchedulerConfig(SENDER, LINKS)
    )

    assert time.monotonic() - started < 10
    assert sorted(str(m["To"]) for m in smtp_server.inbox.messages) == [
        "Inês Baker1 <ines.1@pastel-de-nata.example>",
        "Inês Baker2 <ines.2@pastel-de-nata.example>",
    ]
    touch = await first_touch(uows, slow)
    assert (touch["status"], touch["attempts"], touch["deferred"]) == ("due", 1, True)
    assert "Timeout" in str(touch["last_error"])
