"""Nothing lost, nothing duplicated: the inbox, the dead-letter topics a SIGTERM mid-stream.

Crashes of every part under load are the fault tier's, in tests/faults.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

import pytest
import pytest_asyncio
from aiokafka import ConsumerRecord

from leadflow_devstack.builders import captured, profile, touch
from leadflow_devstack.testing import (
    Db,
    ServiceProcess,
    TestStack,
    new_test_stack,
    produce,
    read_topic,
    wait_consumed,
    wait_until,
)
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import Envelope, encode, new_event
from leadflow_shared.contracts.events import (
    ActivityRecorded,
    LeadRequalificationRequested,
    LeadStatusChanged,
    LeadSubmitted,
    OpportunityLost,
)
from leadflow_shared.contracts.lead import ActivityType, Channel, LeadSubmission

pytestmark = pytest.mark.e2e


# Katherine Johnson of NACA, who came from a webinar on Zoom.
KATHERINE = {"first_name": "Katherine", "last_name": "Johnson", "company": "NACA"}
WEBINAR = touch(channel=Channel.WEBINAR, source_system="zoom", occurred_at="2026-11-20T10:00:00Z")


async def test_the_same_event_delivered_twice_is_processed_once(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    event = captured(
        profile(KATHERINE, email=f"katherine.{uuid.uuid4().hex[:8]}@naca.example"), touch=WEBINAR
    )
    envelope = new_event(event, source="intake")
    raw = encode(envelope)
    qualification, nurture = Db(test_stack, "qualification"), Db(test_stack, "nurture")
    key = str(event.lead_id).encode()

    async def effects() -> tuple[int, int, int]:
        history = await qualification.fetchval(
            "SELECT count(*) FROM status_history WHERE lead_id = $1", event.lead_id
        )
        emitted = await qualification.fetchval("SELECT count(*) FROM outbox WHERE key = $1", key)
        profiles = await nurture.fetchval("SELECT count(*) FROM leads WHERE id = $1", event.lead_id)
        return int(history), int(emitted), int(profiles)

    await produce(test_stack, topics.INTAKE_EVENTS, [(envelope.key(), raw)])
    await wait_until(
        lambda: qualification.fetchval("SELECT count(*) FROM leads WHERE id = $1", event.lead_id)
    )
    await wait_until(lambda: nurture.fetchval("SELECT count(*) FROM leads WHERE id = $1", event.lead_id))
    await wait_consumed(test_stack, topics.INTAKE_EVENTS, ["qualification", "nurture"])
    once = await effects()
    assert once[0] >= 1
    assert once[1] >= 1

    await produce(test_stack, topics.INTAKE_EVENTS, [(envelope.key(), raw), (envelope.key(), raw)])
    await produce(test_stack, topics.INTAKE_EVENTS, [(envelope.key(), raw)])
    consumed = "SELECT count(*) FROM inbox WHERE event_id = $1"
    # Committed past the repeats: whatever they were going to do is done.
    await wait_consumed(test_stack, topics.INTAKE_EVENTS, ["qualification", "nurture"])

    assert await effects() == once
    assert await qualification.fetchval(consumed, envelope.id) == 1
    assert await nurture.fetchval(consumed, envelope.id) == 1


@pytest.mark.parametrize(
    ("topic", "consumers"),
    [
        (topics.LEADS_SUBMITTED, {"intake"}),
        (topics.INTAKE_EVENTS, {"qualification", "nurture"}),
        (topics.QUALIFICATION_EVENTS, {"opportunity", "nurture"}),
    ],
)
async def test_a_malformed_message_ends_in_the_dead_letter_topic_and_the_next_good_one_is_processed(
    test_stack: TestStack, running_services: dict[str, ServiceProcess], topic: str, consumers: set[str]
) -> None:
    poison_key = f"poison-{uuid.uuid4()}".encode()
    lead_id = uuid.uuid4()
    if topic == topics.LEADS_SUBMITTED:
        email = f"ada.{lead_id.hex[:8]}@analytical-engines.example"
        good = new_event(
            LeadSubmitted(
                submission=LeadSubmission(
                    first_name="Ada", last_name="Lovelace", email=email, source_system="api"
                )
            ),
            source="upstream",
        )
    elif topic == topics.INTAKE_EVENTS:
        good = new_event(
            captured(profile(KATHERINE, email=f"kj.{lead_id.hex[:8]}@naca.example"), touch=WEBINAR),
            source="intake",
        )
        lead_id = uuid.UUID(good.subject)
    else:
        good = new_event(
            LeadStatusChanged(
                lead_id=lead_id,
                from_status=None,
                to_status="open",
                category="open",
                reason="test",
                actor="rule:test",
            ),
            source="qualification",
        )
    await produce(test_stack, topic, [(poison_key, b"{not json at all"), (good.key(), encode(good))])

    async def dead_letters() -> list[str] | None:
        records = await read_topic(test_stack, topics.dlq(topic), within=1.0)
        mine = [r for r in records if r.key == poison_key]
        found = {dict(r.headers)["dlq.consumer"].decode().split(".")[-2] for r in mine}
        return [dict(r.headers)["dlq.reason"].decode() for r in mine] if found >= consumers else None

    reasons = await wait_until(dead_letters, within=30)
    assert all("not a valid CloudEvent" in reason for reason in reasons)

    if topic == topics.LEADS_SUBMITTED:
        intake = Db(test_stack, "intake")
        await wait_until(lambda: intake.fetchval("SELECT count(*) FROM leads WHERE email = $1", email))
        # Intake keeps what it dead-letters in its quarantine too, where people look.
        kept = await intake.fetchval(
            "SELECT reason FROM rejections WHERE payload->>'unparsed' = '{not json at all'"
            " ORDER BY received_at DESC LIMIT 1"
        )
        assert kept.startswith(f"dead-lettered from {test_stack.topic_prefix}{topic} (malformed)")
    else:
        for service in consumers:
            db = Db(test_stack, service)
            await wait_until(partial(db.fetchval, "SELECT count(*) FROM leads WHERE id = $1", lead_id))


@pytest_asyncio.fixture(scope="module")
async def kill_stack() -> AsyncIterator[TestStack]:
    stack = new_test_stack("k")
    await stack.create()
    yield stack
    await stack.destroy()


async def test_a_service_stopped_with_sigterm_finishes_its_work_exits_cleanly_and_loses_nothing(
    kill_stack: TestStack,
) -> None:
    intake_process = ServiceProcess(kill_stack, "intake").start()
    qualification_process = ServiceProcess(kill_stack, "qualification").start()
    try:
        run = uuid.uuid4().hex[:6]
        messages = []
        for n in range(300):
            lead = LeadSubmission(
                first_name="Dorothy",
                last_name=f"Vaughan {n}",
                email=f"dorothy.{run}.{n}@langley.example",
                source_system="webform",
                source_id=f"term-{run}-{n}",
            )
            envelope = new_event(LeadSubmitted(submission=lead), source="upstream")
            messages.append((envelope.key(), encode(envelope)))
        pattern = f"dorothy.{run}.%"
        intake = Db(kill_stack, "intake")
        qualification = Db(kill_stack, "qualification")
        await produce(kill_stack, topics.LEADS_SUBMITTED, messages)
        await wait_until(
            lambda: _at_least_args(intake, "SELECT count(*) FROM leads WHERE email LIKE $1", pattern, 30)
        )
        assert intake_process.stop() == 0
        assert await intake.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
        intake_process.start()
        await wait_until(
            lambda: _at_least_args(intake, "SELECT count(*) FROM leads WHERE email LIKE $1", pattern, 300),
            within=60,
        )
        await wait_until(
            lambda: _at_least_args(
                qualification, "SELECT count(*) FROM leads WHERE profile->>'email' LIKE $1", pattern, 300
            ),
            within=60,
        )
        assert qualification_process.stop() == 0
        assert await intake.fetchval("SELECT count(*) FROM leads WHERE email LIKE $1", pattern) == 300
        assert (
            await qualification.fetchval(
                "SELECT count(*) FROM leads WHERE profile->>'email' LIKE $1", pattern
            )
            == 300
        )
    finally:
        intake_process.stop()
        qualification_process.stop()


async def _at_least_args(db: Db, query: str, arg: object, n: int) -> bool:
    return int(await db.fetchval(query, arg)) >= n


def good_messages_for(topic: str, lead_id: uuid.UUID, email: str) -> list[Envelope]:
    """Well-formed events each consumer of the topic handles, about a lead every service knows."""
    if topic == topics.LEADS_ACTIVITY:
        return [
            new_event(
                ActivityRecorded(
                    activity_id=f"web-{uuid.uuid4().hex}",
                    email=email,
                    activity_type=ActivityType.PRICING_PAGE_VISITED,
                    occurred_at=datetime.now(UTC),
                    source_system="website",
                ),
                source="upstream",
            )
        ]
    if topic == topics.OPPORTUNITY_EVENTS:
        return [
            new_event(
                OpportunityLost(
                    opportunity_id=uuid.uuid4(),
                    lead_id=lead_id,
                    contact_id=uuid.uuid4(),
                    amount=Decimal("12000"),
                    lost_reason="price",
                ),
                source="opportunity",
            )
        ]
    return [
        new_event(
            LeadRequalificationRequested(lead_id=lead_id, reason="engagement threshold reached"),
            source="nurture",
        )
    ]


@pytest.mark.parametrize(
    ("topic", "consumers"),
    [
        (topics.LEADS_ACTIVITY, {"intake"}),
        (topics.OPPORTUNITY_EVENTS, {"nurture"}),
        (topics.NURTURE_EVENTS, {"qualification"}),
    ],
)
async def test_a_malformed_message_on_the_other_consumed_topics_is_dead_lettered_and_the_next_one_handled(
    test_stack: TestStack, running_services: dict[str, ServiceProcess], topic: str, consumers: set[str]
) -> None:
    email = f"grace.{uuid.uuid4().hex[:8]}@cobol.example"
    submitted = new_event(
        LeadSubmitted(
            submission=LeadSubmission(
                first_name="Grace", last_name="Hopper", email=email, company="Cobol", source_system="api"
            )
        ),
        source="upstream",
    )
    await produce(test_stack, topics.LEADS_SUBMITTED, [(submitted.key(), encode(submitted))])
    intake = Db(test_stack, "intake")
    lead_id = await wait_until(lambda: intake.fetchval("SELECT id FROM leads WHERE email = $1", email))
    for service in ("qualification", "nurture"):
        db = Db(test_stack, service)
        await wait_until(partial(db.fetchval, "SELECT count(*) FROM leads WHERE id = $1", lead_id))

    poison_key = f"poison-{uuid.uuid4()}".encode()
    good = good_messages_for(topic, lead_id, email)
    await produce(
        test_stack, topic, [(poison_key, b"\x00\x01 not json"), *((g.key(), encode(g)) for g in good)]
    )

    async def dead_letters() -> list[ConsumerRecord[bytes, bytes]] | None:
        records = await read_topic(test_stack, topics.dlq(topic), within=1.0)
        mine = [r for r in records if r.key == poison_key]
        found = {dict(r.headers)["dlq.consumer"].decode().split(".")[-2] for r in mine}
        return mine if found >= consumers else None

    poisoned = await wait_until(dead_letters, within=30)
    assert all(b"not a valid CloudEvent" in dict(r.headers)["dlq.reason"] for r in poisoned)
    for service in consumers:
        db = Db(test_stack, service)
        for envelope in good:
            await wait_until(
                partial(db.fetchval, "SELECT count(*) FROM inbox WHERE event_id = $1", envelope.id)
            )
    dead_keys = {r.key for r in await read_topic(test_stack, topics.dlq(topic), within=1.0)}
    assert not dead_keys & {g.key() for g in good}, "the good messages were handled, not dead-lettered"


async def test_a_message_its_handler_refuses_is_dead_lettered_alone_and_the_rest_of_its_batch_commits(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    known = captured(
        profile(KATHERINE, email=f"margaret.{uuid.uuid4().hex[:8]}@apollo.example"), touch=WEBINAR
    )
    await produce(test_stack, topics.INTAKE_EVENTS, [(None, encode(new_event(known, source="intake")))])
    qualification = Db(test_stack, "qualification")
    await wait_until(
        lambda: qualification.fetchval("SELECT count(*) FROM leads WHERE id = $1", known.lead_id)
    )

    stranger = new_event(
        LeadRequalificationRequested(lead_id=uuid.uuid4(), reason="trigger"), source="nurture"
    )
    friend = new_event(
        LeadRequalificationRequested(lead_id=known.lead_id, reason="trigger"), source="nurture"
    )
    same_partition = f"batch-{uuid.uuid4()}".encode()
    await produce(
        test_stack,
        topics.NURTURE_EVENTS,
        [(same_partition, encode(stranger)), (same_partition, encode(friend))],
    )

    await wait_until(
        lambda: qualification.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", friend.id)
    )

    async def refused() -> list[ConsumerRecord[bytes, bytes]] | None:
        records = await read_topic(test_stack, topics.dlq(topics.NURTURE_EVENTS), within=1.0)
        return [r for r in records if r.value == encode(stranger)] or None

    [dead] = await wait_until(refused, within=30)
    assert b"unknown to qualification" in dict(dead.headers)["dlq.reason"]
    assert dict(dead.headers)["dlq.consumer"].endswith(b"qualification.pipeline")
    dead_values = {
        r.value for r in await read_topic(test_stack, topics.dlq(topics.NURTURE_EVENTS), within=1.0)
    }
    assert encode(friend) not in dead_values
