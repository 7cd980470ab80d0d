"""Erasure in nurture: the person leaves the read model, the email log and the outbox; counts stay."""

from __future__ import annotations

import uuid

import pytest

from leadflow_devstack.testing import personal_traces
from leadflow_nurture.adapters.erasure import HASHED
from leadflow_nurture.adapters.smtp import SmtpSender
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.use_cases.erasure import person_erasure_requested
from leadflow_nurture.use_cases.scheduler import SchedulerConfig, send_due_touches
from leadflow_shared.contracts.envelope import new_event
from leadflow_shared.contracts.events import PersonErasureRequested
from leadflow_shared.privacy import email_hash
from leadflow_shared.uow import UnitOfWorkFactory

from .conftest import LINKS, SmtpServer
from .test_scheduler import SENDER, enroll_bakers, settings_for
from .test_sending_failures import GONE, readdress

pytestmark = pytest.mark.service


async def test_an_erased_baker_whose_address_bounced_leaves_only_counts_and_the_hash_of_that_address(
    uows: UnitOfWorkFactory, smtp_server: SmtpServer
) -> None:
    store = TrackStore()
    gone, kept = await enroll_bakers(uows, store, 2)
    await readdress(uows, gone, GONE)
    # Other tests enrol bakers of the same names in this schema: this one's surname is its own.
    await uows.pool.execute(
        "UPDATE leads SET profile = jsonb_set(profile, '{last_name}', to_jsonb($2::text)) WHERE id = $1",
        gone,
        f"Baker-{uuid.uuid4().hex[:8]}",
    )
    smtp_server.inbox.refuse[GONE] = f"550 5.1.1 <{GONE}>: no such user"
    await send_due_touches(uows, store, SmtpSender(settings_for(smtp_server)), SchedulerConfig(SENDER, LINKS))
    surname = await uows.pool.fetchval("SELECT profile->>'last_name' FROM leads WHERE id = $1", gone)
    kept_email = await uows.pool.fetchval("SELECT profile->>'email' FROM leads WHERE id = $1", kept)
    needles = [GONE, surname]
    async with uows.pool.acquire() as conn:
        assert await personal_traces(conn, "nurture", needles), "the baker is there before"
    counts = "SELECT touches_sent, touches_skipped, status FROM enrollments WHERE lead_id = $1"
    before = dict(await uows.pool.fetchrow(counts, gone))
    request = PersonErasureRequested(request_id=uuid.uuid4(), lead_ids=[gone])

    for _ in range(2):
        async with uows() as uow:
            await person_erasure_requested(uow, request, new_event(request, source="intake"))

    async with uows.pool.acquire() as conn:
        assert await personal_traces(conn, "nurture", needles) == []
    assert dict(await uows.pool.fetchrow(counts, gone)) == before
    assert await uows.pool.fetchval("SELECT email FROM undeliverable") == HASHED + email_hash(GONE)
    assert await uows.pool.fetchval("SELECT profile->>'email' FROM leads WHERE id = $1", kept) == kept_email
    assert (
        await uows.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE key = $1", str(request.request_id).encode()
        )
        == 2
    )
