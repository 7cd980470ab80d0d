"""Which messages of a partition batch may go to a batch handler together, and which run one by one."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from aiokafka import ConsumerRecord

from leadflow_shared.consumer import BatchHandler, Wanted, plan_batches
from leadflow_shared.contracts.envelope import Envelope, new_event
from leadflow_shared.contracts.events import LeadEngaged, LeadStatusChanged


async def _batch(uow: Any, items: list[tuple[Envelope, Any]]) -> None:
    """A batch handler that is never called here."""


async def _one(uow: Any, envelope: Envelope, data: Any) -> None:
    """A per-message handler that is never called here."""


def message(offset: int, lead: str | None, event_type: str) -> Wanted:
    lead_id = uuid4()
    data: Any
    if event_type == "lead.status_changed":
        data = LeadStatusChanged(
            lead_id=lead_id, from_status=None, to_status="open", category="open", reason="r", actor="a"
        )
    else:
        data = LeadEngaged(
            lead_id=lead_id,
            activity_id=str(offset),
            activity_type="email_opened",
            occurred_at="2026-01-01T00:00:00Z",
            source_system="mailchimp",
        )
    envelope = new_event(data, source="test")
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        "t", 0, offset, 0, 0, lead.encode() if lead else None, b"", None, 0, 0, []
    )
    return (record, envelope, data, _one)


BATCH: dict[str, BatchHandler] = {"lead.status_changed": _batch}


def offsets(items: list[Wanted]) -> list[int]:
    return [item[0].offset for item in items]


def test_messages_of_leads_seen_once_go_to_the_batch_handler_together() -> None:
    items = [message(n, f"lead-{n}", "lead.status_changed") for n in range(5)]
    groups, rest = plan_batches(items, BATCH)
    assert offsets(groups["lead.status_changed"]) == [0, 1, 2, 3, 4]
    assert rest == []


def test_a_lead_seen_twice_in_the_batch_runs_one_by_one_in_order() -> None:
    items = [
        message(0, "a", "lead.status_changed"),
        message(1, "b", "lead.status_changed"),
        message(2, "a", "lead.engaged"),
        message(3, "c", "lead.status_changed"),
        message(4, "d", "lead.engaged"),
    ]
    groups, rest = plan_batches(items, BATCH)
    assert offsets(groups["lead.status_changed"]) == [1, 3]
    assert offsets(rest) == [0, 2, 4]


def test_a_group_of_one_runs_one_by_one_in_its_place() -> None:
    items = [
        message(0, "a", "lead.engaged"),
        message(1, "b", "lead.status_changed"),
        message(2, "c", "lead.engaged"),
    ]
    groups, rest = plan_batches(items, BATCH)
    assert groups == {}
    assert offsets(rest) == [0, 1, 2]


def test_messages_without_a_key_promise_no_order_and_may_go_together() -> None:
    items = [message(n, None, "lead.status_changed") for n in range(3)]
    groups, rest = plan_batches(items, BATCH)
    assert offsets(groups["lead.status_changed"]) == [0, 1, 2]
    assert rest == []


def test_without_batch_handlers_everything_runs_one_by_one() -> None:
    items = [message(n, f"lead-{n}", "lead.status_changed") for n in range(3)]
    assert plan_batches(items, {}) == ({}, items)
