"""The touch scheduler on real Postgres and a real SMTP server: nothing lost, nothing sent twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import pytest

from leadflow_nurture.adapters.smtp import SmtpSender
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.consent import from_intake
from leadflow_nurture.domain.delivery import RetryPolicy, SendFailure
from leadflow_nurture.domain.email import Sender
from leadflow_nurture.domain.enrollment import EnrollmentStatus
from leadflow_nurture.domain.matching import LeadContext
from leadflow_nurture.domain.tracks import EntrySource, parse_track_set
from leadflow_nurture.settings import NurtureSettings
from leadflow_nurture.use_cases import consent, lifecycle
from leadflow_nurture.use_cases.scheduler import SchedulerConfig, exhaust_quiet_enrollments, send_due_touches
from leadflow_shared.contracts.events import DisqualificationReason, LeadConsentChanged, LeadEngaged
from leadflow_shared.contracts.lead import ActivityType, ContactChannel, LeadProfile, TriggerKind
from leadflow_shared.uow import UnitOfWorkFactory

from .conftest import LINKS, SmtpServer

pytestmark = pytest.mark.service

SENDER = Sender(
    email="hello@orbital-bakery.example",
    display_name="Orbital Bakery",
    unsubscribe_url="https://nurture.orbital-bakery.example",
)


def fast_tracks(grace: str = "1s") -> dict[str, Any]:
    """A budget drip whose three emails follow each other at once."""
    return {
        "tracks": [
            {
                "name": "budget-drip",
                "entry": {"sources": ["disqualified"], "reasons": ["no_budget"]},
                "steps": [
                    {
                        "channel": "drip_email",
                        "delay": "0s",
                        "content_ref": "drip/business-case",
                        "subject": "A business case for $company",
                    },
                    {
                        "channel": "webinar_invitation",
                        "delay": "0s",
                        "content_ref": "webinar/roi-for-leaders",
                        "subject": "Live: the ROI case",
                    },
                    {
                        "channel": "newsletter_subscription",
                        "delay": "0s",
                        "content_ref": "newsletter/welcome",
                        "subject": "Welcome, $first_name",
                    },
                ],
                "exit": {"engagement_threshold": 10, "grace": grace},
                "on_exhaustion": {"action": "archive"},
            }
        ]
    }


def settings_for(smtp: SmtpServer) -> NurtureSettings:
    return NurtureSettings(database_url="postgresql://unused@localhost/x", smtp_port=smtp.port)


async def enroll_bakers(uows: UnitOfWorkFactory, store: TrackStore, count: int) -> list[UUID]:
    """Bakers from Lisbon with no budget this year, each enrolled on the drip."""
    async with uows() as uow:
        await store.replace(uow.conn, parse_track_set(fast_tracks()))
    ids = []
    for n in range(count):
        lead_id = uuid.uuid4()
        profile = LeadProfile(
            first_name="Inês",
            last_name=f"Baker{n}",
            email=f"ines.{n}@pastel-de-nata.example",
            company="Pastel de Nata Lda",
        )
        async with uows() as uow:
            await uow.conn.execute(
                "INSERT INTO leads (id, status, profile) VALUES ($1, 'unqualified', $2)",
                lead_id,
                profile.model_dump(mode="json"),
            )
            context = LeadContext(source=EntrySource.DISQUALIFIED, reason=DisqualificationReason.NO_BUDGET)
            assert await lifecycle.enroll(uow, await store.load(uow.conn), lead_id, context, None) is not None
        ids.append(lead_id)
    return ids


async def drain(uows: UnitOfWorkFactory, store: TrackStore, sender: Any, batch: int = 25) -> None:
    config = SchedulerConfig(sender=SENDER, links=LINKS, batch_size=batch)
    for _ in range(50):
        if await send_due_touches(uows, store, sender, config) == 0:
            return


async def outbox_types(uows: UnitOfWorkFactory) -> list[str]:
    rows = await uows.pool.fetch("SELECT payload FROM outbox ORDER BY id")
    return [json.loads(row["payload"])["type"] for row in rows]


async def test_an_enrolled_baker_gets_every_step_by_real_smtp_with_an_unsubscribe_link(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    [lead_id] = await enroll_bakers(uows, store, 1)
    await drain(uows, store, SmtpSender(settings_for(smtp_server)))

    received = smtp_server.inbox.to("ines.0@pastel-de-nata.example")
    assert [m["Subject"] for m in received] == [
        "A business case for Pastel de Nata Lda",
        "Live: the ROI case",
        "Welcome, Inês",
    ]
    assert received[0]["List-Unsubscribe"].startswith(
        "<https://nurture.orbital-bakery.example/v1/unsubscribe/"
    )
    assert received[0]["Message-ID"].startswith("<touch-")
    types = await outbox_types(uows)
    assert types.count("nurture.enrolled") == 1
    assert types.count("nurture.touch_sent") == 3
    enrollment = await uows.pool.fetchrow("SELECT * FROM enrollments WHERE lead_id = $1", lead_id)
    assert enrollment["touches_sent"] == 3
    assert enrollment["exhaust_at"] is not None


async def test_the_touches_the_scheduler_sends_carry_the_journey_of_the_leads_enrollment(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    [lead_id] = await enroll_bakers(uows, store, 1)
    await drain(uows, store, SmtpSender(settings_for(smtp_server)))
    rows = await uows.pool.fetch(
        "SELECT payload FROM outbox WHERE key = $1 ORDER BY id", str(lead_id).encode()
    )
    events = [json.loads(row["payload"]) for row in rows]
    journey = await uows.pool.fetchval(
        "SELECT correlation_id FROM lead_timeline WHERE lead_id = $1 ORDER BY at, event_id LIMIT 1", lead_id
    )
    assert [e["type"] for e in events].count("nurture.touch_sent") == 3
    assert {e["correlationid"] for e in events} == {journey}
    timeline = await uows.pool.fetch(
        "SELECT kind, summary FROM lead_timeline WHERE lead_id = $1 ORDER BY at, event_id", lead_id
    )
    assert [t["kind"] for t in timeline][:2] == ["nurture.enrolled", "nurture.touch_sent"]
    assert timeline[1]["summary"] == "touch 1 sent by drip_email"


async def test_tracks_stored_through_one_replica_are_in_force_at_the_next_load_of_another(
    uows: UnitOfWorkFactory,
) -> None:
    here, there = TrackStore(), TrackStore()
    async with uows() as uow:
        await there.replace(uow.conn, parse_track_set(fast_tracks(grace="1s")))
        before = (await here.load(uow.conn))["budget-drip"]
        assert await here.load(uow.conn) is await here.load(uow.conn)
    async with uows() as uow:
        await there.replace(uow.conn, parse_track_set(fast_tracks(grace="9s")))
        after = (await here.load(uow.conn))["budget-drip"]
    assert after.version == before.version + 1
    assert after.exit.grace.as_timedelta() == timedelta(seconds=9)


async def test_two_concurrent_workers_send_every_touch_exactly_once(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store_a, store_b = TrackStore(), TrackStore()
    await enroll_bakers(uows, store_a, 30)
    mail = SmtpSender(settings_for(smtp_server))
    await asyncio.gather(drain(uows, store_a, mail, batch=7), drain(uows, store_b, mail, batch=7))
    await drain(uows, store_a, mail)

    touch_ids = [m["X-Leadflow-Touch"] for m in smtp_server.inbox.messages]
    assert len(touch_ids) == 90
    assert len(set(touch_ids)) == 90
    assert await uows.pool.fetchval("SELECT count(*) FROM touches WHERE status = 'sent'") == 90
    assert (await outbox_types(uows)).count("nurture.touch_sent") == 90


class CrashingMail:
    """A worker process that dies in the middle of sending its batch."""

    async def send(self, messages: Sequence[EmailMessage]) -> list[SendFailure | None]:
        raise RuntimeError("kill -9 while talking to the SMTP server")


async def test_a_worker_that_dies_mid_batch_loses_no_touch_and_a_round_after_its_lease_sends_each_once(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    await enroll_bakers(uows, store, 5)
    with pytest.raises(RuntimeError):
        await send_due_touches(uows, store, CrashingMail(), SchedulerConfig(sender=SENDER, links=LINKS))
    assert await uows.pool.fetchval("SELECT count(*) FROM touches WHERE status = 'due'") == 5
    assert "nurture.touch_sent" not in await outbox_types(uows)

    mail = SmtpSender(settings_for(smtp_server))
    await drain(uows, TrackStore(), mail)
    assert smtp_server.inbox.messages == [], "the dead worker's lease still holds its touches"

    await run_out_leases(uows)
    await drain(uows, TrackStore(), mail)
    touch_ids = [m["X-Leadflow-Touch"] for m in smtp_server.inbox.messages]
    assert len(touch_ids) == len(set(touch_ids)) == 15


async def run_out_leases(uows: UnitOfWorkFactory) -> None:
    """Let every lease run out, as the minutes after a worker died would."""
    await uows.pool.execute(
        "UPDATE touches SET leased_until = now() - interval '1 second' WHERE lease IS NOT NULL"
    )


async def test_an_unreachable_smtp_server_keeps_the_touch_due_for_a_later_retry(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    [lead_id] = await enroll_bakers(uows, store, 1)
    down = NurtureSettings(database_url="postgresql://unused@localhost/x", smtp_port=1, smtp_timeout_s=2)
    config = SchedulerConfig(sender=SENDER, links=LINKS, retry=RetryPolicy(first_delay=timedelta(0)))
    assert await send_due_touches(uows, store, SmtpSender(down), config) == 0
    touch = await uows.pool.fetchrow("SELECT * FROM touches WHERE lead_id = $1", lead_id)
    # The server was away, not the message at fault: the attempt does not count towards the touch's limit.
    assert (touch["status"], touch["attempts"]) == ("due", 0)
    assert "Connect" in touch["last_error"] or "connect" in touch["last_error"]
    await drain(uows, store, SmtpSender(settings_for(smtp_server)))
    assert len(smtp_server.inbox.messages) == 3


async def test_a_touch_of_a_lead_whose_profile_has_not_arrived_waits_for_it_instead_of_being_skipped(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    [lead_id] = await enroll_bakers(uows, store, 1)
    # Enrolled from another topic than intake's (a lost deal, say) before intake's profile reached nurture.
    profile = await uows.pool.fetchval("UPDATE leads SET profile = NULL WHERE id = $1 RETURNING 1", lead_id)
    assert profile == 1
    config = SchedulerConfig(sender=SENDER, links=LINKS, retry=RetryPolicy(first_delay=timedelta(0)))
    sender = SmtpSender(settings_for(smtp_server))

    await send_due_touches(uows, store, sender, config)

    waiting = await uows.pool.fetch(
        "SELECT status, attempts, last_error FROM touches WHERE lead_id = $1", lead_id
    )
    assert {(t["status"], t["attempts"]) for t in waiting} == {("due", 1)}
    assert {t["last_error"] for t in waiting} == {"the lead's profile is not known here yet"}
    assert smtp_server.inbox.messages == []
    await uows.pool.execute(
        "UPDATE leads SET profile = $2 WHERE id = $1",
        lead_id,
        LeadProfile(first_name="Inês", email="ines.0@pastel-de-nata.example").model_dump(mode="json"),
    )
    await drain(uows, store, sender)
    assert len(smtp_server.inbox.to("ines.0@pastel-de-nata.example")) == 3


async def test_a_touch_of_a_lead_whose_profile_never_arrives_is_skipped_after_the_retry_limit(
    uows: UnitOfWorkFactory,
) -> None:
    store = TrackStore()
    [lead_id] = await enroll_bakers(uows, store, 1)
    await uows.pool.execute("UPDATE leads SET profile = NULL WHERE id = $1", lead_id)
    config = SchedulerConfig(
        sender=SENDER, links=LINKS, retry=RetryPolicy(max_attempts=3, first_delay=timedelta(0))
    )

    for _ in range(10):
        await send_due_touches(uows, store, None, config)  # type: ignore[arg-type]

    statuses = await uows.pool.fetch("SELECT status, attempts FROM touches WHERE lead_id = $1", lead_id)
    assert {(t["status"], t["attempts"]) for t in statuses} == {("skipped_no_address", 3)}


async def test_an_opted_out_baker_gets_nothing_more_and_the_opt_out_is_recorded(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    [lead_id] = await enroll_bakers(uows, store, 1)
    async with uows() as uow:
        await consent.record(
            uow,
            from_intake(
                LeadConsentChanged(
                    lead_id=lead_id,
                    channel=ContactChannel.EMAIL,
                    opted_in=False,
                    reason="clicked unsubscribe",
                ),
                lifecycle.now(),
            ),
        )
    await drain(uows, store, SmtpSender(settings_for(smtp_server)))
    assert smtp_server.inbox.messages == []
    enrollment = await uows.pool.fetchrow("SELECT * FROM enrollments WHERE lead_id = $1", lead_id)
    assert enrollment["status"] == "unsubscribed"
    assert "clicked unsubscribe" in enrollment["end_reason"]
    assert await uows.pool.fetchval("SELECT status FROM touches WHERE lead_id = $1", lead_id) == "cancelled"


def funding_round(lead_id: UUID, activity_id: str) -> LeadEngaged:
    """News that the lead's company raised money: a trigger the drip listens to."""
    return LeadEngaged(
        lead_id=lead_id,
        activity_id=activity_id,
        activity_type=ActivityType.TRIGGER,
        occurred_at=lifecycle.now(),
        trigger=TriggerKind.FUNDING_ROUND,
    )


async def test_a_funding_round_sends_the_baker_back_to_qualification(uows: UnitOfWorkFactory) -> None:
    store = TrackStore()
    [lead_id] = await enroll_bakers(uows, store, 1)
    async with uows() as uow:
        opened = LeadEngaged(
            lead_id=lead_id,
            activity_id="a1",
            activity_type=ActivityType.PRICING_PAGE_VISITED,
            occurred_at=lifecycle.now(),
        )
        await lifecycle.engage(uow, store, opened, None)  # type: ignore[arg-type]
    async with uows() as uow:
        await lifecycle.engage(uow, store, funding_round(lead_id, "a2"), None)  # type: ignore[arg-type]
    enrollment = await uows.pool.fetchrow("SELECT * FROM enrollments WHERE lead_id = $1", lead_id)
    assert (enrollment["status"], enrollment["engagement_points"]) == ("requalified", 5)
    rows = await uows.pool.fetch("SELECT payload FROM outbox ORDER BY id")
    requests = [json.loads(r["payload"]) for r in rows]
    requests = [r for r in requests if r["type"] == "lead.requalification_requested"]
    assert requests[0]["data"]["trigger"] == "funding_round"
    assert await uows.pool.fetchval("SELECT count(*) FROM touches WHERE status = 'due'") == 0


async def test_a_quiet_baker_is_exhausted_and_archived_after_the_grace_period(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    [lead_id] = await enroll_bakers(uows, store, 1)
    await drain(uows, store, SmtpSender(settings_for(smtp_server)))
    earlier = lifecycle.now() - timedelta(seconds=5)
    assert await exhaust_quiet_enrollments(uows, store, 10, at=earlier) == 0, "within the one-second grace"
    later = lifecycle.now() + timedelta(seconds=2)
    assert await exhaust_quiet_enrollments(uows, store, 10, at=later) == 1
    assert (
        await uows.pool.fetchval("SELECT status FROM enrollments WHERE lead_id = $1", lead_id) == "exhausted"
    )
    assert await uows.pool.fetchval("SELECT reason FROM archives WHERE lead_id = $1", lead_id) == "exhausted"
    assert "nurture.exhausted" in await outbox_types(uows)


async def test_ending_a_leads_enrollment_ends_only_its_active_one_and_cancels_only_its_due_touches(
    uows: UnitOfWorkFactory,
) -> None:
    store = TrackStore()
    [lead_id] = await enroll_bakers(uows, store, 1)
    async with uows() as uow:
        first = await lifecycle.end_active(uow.conn, lead_id, EnrollmentStatus.EXHAUSTED, "quiet")
        context = LeadContext(source=EntrySource.DISQUALIFIED, reason=DisqualificationReason.NO_BUDGET)
        second = await lifecycle.enroll(uow, await store.load(uow.conn), lead_id, context, None)
    await uows.pool.execute(
        "UPDATE touches SET status = 'sent', done_at = now() WHERE enrollment_id = $1", second
    )

    async with uows() as uow:
        ended = await lifecycle.end_active(uow.conn, lead_id, EnrollmentStatus.REQUALIFIED, "engaged")
        again = await lifecycle.end_active(uow.conn, lead_id, EnrollmentStatus.REQUALIFIED, "engaged")

    assert second not in (first, None)
    assert (ended, again) == (second, None)
    enrollments = await uows.pool.fetch(
        "SELECT id, status, end_reason FROM enrollments WHERE lead_id = $1 ORDER BY seq", lead_id
    )
    assert [tuple(r) for r in enrollments] == [
        (first, "exhausted", "quiet"),
        (second, "requalified", "engaged"),
    ]
    touches = await uows.pool.fetch(
        "SELECT enrollment_id, status FROM touches WHERE lead_id = $1 ORDER BY enrollment_id = $2, step",
        lead_id,
        first,
    )
    # An enrollment holds its next touch only: the first's was due and is cancelled, the second's was sent.
    statuses = [(r["enrollment_id"] == first, r["status"]) for r in touches]
    assert statuses == [(False, "sent"), (True, "cancelled")]


async def test_engagement_after_the_leads_enrollment_ended_changes_nothing(uows: UnitOfWorkFactory) -> None:
    store = TrackStore()
    [lead_id] = await enroll_bakers(uows, store, 1)
    async with uows() as uow:
        await lifecycle.end_active(uow.conn, lead_id, EnrollmentStatus.EXHAUSTED, "quiet")
    async with uows() as uow:
        await lifecycle.engage(uow, store, funding_round(lead_id, "a1"), None)  # type: ignore[arg-type]

    enrollment = await uows.pool.fetchrow("SELECT * FROM enrollments WHERE lead_id = $1", lead_id)
    assert (enrollment["status"], enrollment["engagement_points"]) == ("exhausted", 0)
    assert "lead.requalification_requested" not in await outbox_types(uows)
