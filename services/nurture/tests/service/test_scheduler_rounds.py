"""A scheduler round settles its touches in one statement each: what settling them one at a time leaves."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import pytest

from leadflow_nurture.adapters.smtp import SmtpSender
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.delivery import FailureKind, RetryPolicy, SendFailure
from leadflow_nurture.settings import NurtureSettings
from leadflow_nurture.use_cases.scheduler import Messages, SchedulerConfig, send_due_touches
from leadflow_shared.uow import UnitOfWorkFactory

from .conftest import LINKS, SmtpServer
from .test_scheduler import SENDER, enroll_bakers, settings_for

pytestmark = pytest.mark.service

BAKERS = 12


class FlakyMail:
    """An SMTP server that refuses every third email of a batch and takes the rest."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, messages: Sequence[EmailMessage]) -> list[SendFailure | None]:
        results: list[SendFailure | None] = []
        for message in messages:
            if message["To"].addresses[0].username.endswith(("0", "3", "6", "9")):
                results.append(SendFailure(FailureKind.TRANSIENT, f"refused {message['To']}"))
            else:
                self.sent.append(str(message["X-Leadflow-Touch"]).split("/")[1])
                results.append(None)
        return results


async def bakery_with_every_outcome(uows: UnitOfWorkFactory, store: TrackStore) -> dict[UUID, int]:
    """Twelve bakers on the drip: some opted out, some without an address, the rest reachable."""
    lead_ids = await enroll_bakers(uows, store, BAKERS)
    async with uows() as uow:
        await uow.conn.execute(
            "INSERT INTO consent (lead_id, channel, opted_in, reason)"
            " SELECT unnest($1::uuid[]), 'email', false, 'asked us to stop'",
            lead_ids[1::4],
        )
        await uow.conn.execute(
            "UPDATE leads SET profile = profile - 'email' WHERE id = ANY($1::uuid[])", lead_ids[2::4]
        )
    return {lead_id: n for n, lead_id in enumerate(lead_ids)}


async def state(uows: UnitOfWorkFactory, bakers: dict[UUID, int]) -> dict[str, Any]:
    """Every touch, enrollment and event, with bakers by number instead of id."""
    touches = await uows.pool.fetch(
        "SELECT lead_id, step, channel, content_ref, status, attempts, last_error,"
        " due_at > now() + interval '30 seconds' AS deferred, done_at IS NOT NULL AS done FROM touches"
    )
    enrollments = await uows.pool.fetch(
        "SELECT lead_id, status, touches_sent, touches_skipped, last_touch_at IS NOT NULL AS touched,"
        " exhaust_at IS NOT NULL AS exhausting FROM enrollments"
    )
    events = [json.loads(row["payload"]) for row in await uows.pool.fetch("SELECT payload FROM outbox")]
    return {
        "touches": sorted(
            (bakers[row["lead_id"]], *(v for k, v in row.items() if k != "lead_id")) for row in touches
        ),
        "enrollments": sorted(
            (bakers[row["lead_id"]], *(v for k, v in row.items() if k != "lead_id")) for row in enrollments
        ),
        "events": sorted(
            (event["type"], bakers[UUID(event["data"]["lead_id"])], event["data"].get("step"))
            for event in events
        ),
    }


async def rounds(uows: UnitOfWorkFactory, store: TrackStore, mail: Any, batch_size: int) -> None:
    config = SchedulerConfig(
        sender=SENDER, links=LINKS, batch_size=batch_size, retry=RetryPolicy(first_delay=timedelta(minutes=5))
    )
    for _ in range(100):
        await send_due_touches(uows, store, mail, config)
        due = await uows.pool.fetchval(
            "SELECT count(*) FROM touches WHERE status = 'due' AND due_at <= now()"
        )
        if not due:
            return


async def test_a_round_of_many_touches_leaves_what_rounds_of_one_touch_leave(uows: UnitOfWorkFactory) -> None:
    outcomes = []
    for batch_size in (50, 1):
        await uows.pool.execute("TRUNCATE touches, enrollments, consent, archives, outbox, leads CASCADE")
        store = TrackStore()
        bakers = await bakery_with_every_outcome(uows, store)
        mail = FlakyMail()
        await rounds(uows, store, mail, batch_size)
        outcomes.append((await state(uows, bakers), sorted(mail.sent)))

    batched, one_by_one = outcomes
    assert batched == one_by_one
    statuses = {row[4] for row in batched[0]["touches"]}
    assert statuses == {"sent", "skipped_no_consent", "skipped_no_address", "due"}
    assert any(row[6] and "refused" in row[6] for row in batched[0]["touches"])


async def test_a_round_whose_smtp_server_is_unreachable_renders_no_email(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    down = NurtureSettings(database_url="postgresql://unused@localhost/x", smtp_port=1, smtp_timeout_s=2)
    store = TrackStore()
    await enroll_bakers(uows, store, 3)
    async with uows() as uow:
        rows = await uow.conn.fetch("SELECT t.*, l.profile FROM touches t JOIN leads l ON l.id = t.lead_id")
    from leadflow_nurture.domain.tracks import parse_track_set
    from leadflow_shared.contracts.lead import LeadProfile

    from .test_scheduler import fast_tracks

    step = parse_track_set(fast_tracks()).tracks[0].steps[0]
    drafts = [(row, step, LeadProfile.model_validate(row["profile"])) for row in rows]

    unsent = Messages(drafts, SENDER, LINKS)
    errors = await SmtpSender(down).send(unsent)
    assert [error.kind if error else None for error in errors] == [FailureKind.UNAVAILABLE] * 3
    assert not unsent.rendered

    delivered = Messages(drafts, SENDER, LINKS)
    assert await SmtpSender(settings_for(smtp_server)).send(delivered) == [None, None, None]
    assert delivered.rendered
    assert sorted(m["Message-ID"] for m in smtp_server.inbox.messages) == sorted(
        f"<touch-{row['id']}@orbital-bakery.example>" for row in rows
    )
