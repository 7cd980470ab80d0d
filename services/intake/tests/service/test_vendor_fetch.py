"""Vendor APIs are asked before the consumer's transaction opens, never while it holds one."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
from aiokafka import ConsumerRecord, TopicPartition

from leadflow_devstack.testing import TestStack
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import encode, new_event
from leadflow_shared.contracts.events import RawLeadSubmitted

from .conftest import Intake, submissions_consumer
from .test_webhooks import leads_with_email, meta, new_tag

OPEN_TRANSACTIONS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = current_user"
    " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
)


def open_transactions_of(dsn: str) -> int:
    """How many sessions of this role sit in an open transaction now (asked from a thread of its own)."""

    async def ask() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return int(await conn.fetchval(OPEN_TRANSACTIONS))
        finally:
            await conn.close()

    return asyncio.run(ask())


async def test_the_graph_api_is_asked_while_intake_holds_no_transaction_open(
    intake: Intake, service_stack: TestStack
) -> None:
    delivery = meta(new_tag(), intake.vendor)
    raw = RawLeadSubmitted(source="meta", payload=json.loads(delivery.body), received_id=uuid.uuid4())
    topic = intake.settings.topic_prefix + topics.LEADS_SUBMITTED
    value = encode(new_event(raw, source="intake"))
    record = ConsumerRecord(topic, 0, 0, 0, 0, None, value, None, len(value), 0, [])
    seen: list[int] = []
    intake.vendor.on_request = lambda: seen.append(open_transactions_of(service_stack.dsn("intake")))
    try:
        async with submissions_consumer(intake) as consumer:
            await consumer._process(TopicPartition(topic, 0), [record])
    finally:
        intake.vendor.on_request = None

    assert seen == [0], "the Graph API was asked once, with no intake transaction open"
    assert len(await leads_with_email(intake, delivery.email)) == 1


async def test_a_lead_captured_before_is_not_fetched_again(intake: Intake) -> None:
    delivery = meta(new_tag(), intake.vendor)
    raw = RawLeadSubmitted(source="meta", payload=json.loads(delivery.body), received_id=uuid.uuid4())
    await intake.handle(new_event(raw, source="intake"))
    asked = len(intake.vendor.requests)

    again = RawLeadSubmitted(source="meta", payload=raw.payload, received_id=uuid.uuid4())
    await intake.handle(new_event(again, source="intake"))

    assert len(intake.vendor.requests) == asked
    assert len(await leads_with_email(intake, delivery.email)) == 1
