"""A round holds the touches it sends by a lease, never by an open transaction while SMTP talks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage

import pytest

from leadflow_nurture.adapters.smtp import SmtpSender
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.delivery import SendFailure
from leadflow_nurture.use_cases.scheduler import SchedulerConfig, send_due_touches
from leadflow_shared.uow import UnitOfWorkFactory

from .conftest import LINKS, SmtpServer
from .test_scheduler import SENDER, enroll_bakers, outbox_types, run_out_leases, settings_for

pytestmark = pytest.mark.service

OPEN_TRANSACTIONS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = current_user"
    " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
)
CONFIG = SchedulerConfig(sender=SENDER, links=LINKS)


class WatchedMail:
    """A real SMTP sender that first counts the sessions sitting in an open transaction."""

    def __init__(self, uows: UnitOfWorkFactory, smtp: SmtpSender) -> None:
        self.uows = uows
        self.smtp = smtp
        self.open_transactions: list[int] = []

    async def send(self, messages: Sequence[EmailMessage]) -> list[SendFailure | None]:
        self.open_transactions.append(int(await self.uows.pool.fetchval(OPEN_TRANSACTIONS)))
        return await self.smtp.send(messages)


async def test_no_transaction_is_open_while_the_emails_go_out(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    await enroll_bakers(uows, store, 4)
    mail = WatchedMail(uows, SmtpSender(settings_for(smtp_server)))

    assert await send_due_touches(uows, store, mail, CONFIG) == 4

    assert mail.open_transactions == [0]
    assert len(smtp_server.inbox.messages) == 4
    assert await uows.pool.fetchval("SELECT count(*) FROM touches WHERE lease IS NOT NULL") == 0


class OvertakenMail:
    """A sender so slow that its round's lease runs out and another round sends the same touches first."""

    def __init__(self, uows: UnitOfWorkFactory, store: TrackStore, smtp: SmtpSender) -> None:
        self.uows, self.store, self.smtp = uows, store, smtp
        self.overtaken_by = -1

    async def send(self, messages: Sequence[EmailMessage]) -> list[SendFailure | None]:
        await run_out_leases(self.uows)
        self.overtaken_by = await send_due_touches(self.uows, self.store, self.smtp, CONFIG)
        return await self.smtp.send(messages)


async def test_a_round_that_lost_its_lease_leaves_the_record_to_the_round_that_took_it_over(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    lead_ids = await enroll_bakers(uows, store, 3)
    smtp = SmtpSender(settings_for(smtp_server))
    slow = OvertakenMail(uows, store, smtp)

    assert await send_due_touches(uows, store, slow, CONFIG) == 0
    assert slow.overtaken_by == 3

    # Each email went out twice with one Message-ID (at least once), and was recorded once.
    ids = [m["Message-ID"] for m in smtp_server.inbox.messages]
    assert len(ids) == 6
    assert len(set(ids)) == 3
    assert (await outbox_types(uows)).count("nurture.touch_sent") == 3
    counts = await uows.pool.fetch(
        "SELECT touches_sent FROM enrollments WHERE lead_id = ANY($1::uuid[])", lead_ids
    )
    assert [row["touches_sent"] for row in counts] == [1, 1, 1]
    assert await uows.pool.fetchval("SELECT count(*) FROM touches WHERE status = 'sent'") == 3


async def test_a_round_stops_sending_when_its_lease_is_about_to_run_out(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    await enroll_bakers(uows, store, 2)
    late = SchedulerConfig(
        sender=SENDER, links=LINKS, lease=timedelta(seconds=60), margin=timedelta(seconds=61)
    )

    assert await send_due_touches(uows, store, SmtpSender(settings_for(smtp_server)), late) == 0

    assert smtp_server.inbox.messages == []
    touches = await uows.pool.fetch("SELECT status, attempts, last_error, lease FROM touches")
    assert [(t["status"], t["attempts"], t["lease"]) for t in touches] == [("due", 0, None)] * 2
    assert all("lease ran out" in t["last_error"] for t in touches)
