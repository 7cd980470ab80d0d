"""How a partition batch is laid out: groups for batch handlers and single messages, each lead in order."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from aiokafka import ConsumerRecord

from leadflow_shared.consumer import On, Wanted, plan_batches
from leadflow_shared.contracts.envelope import new_event
from leadflow_shared.contracts.events import LeadEngaged, LeadMerged, LeadStatusChanged
from leadflow_shared.contracts.lead import LeadProfile


async def _handle(uow: Any, events: Any) -> None:
    """A handler that is never called here."""


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
    return (record, envelope, data, On(type(data), _handle))


TOGETHER = frozenset({"lead.status_changed"})


def offsets(items: list[Wanted]) -> list[int]:
    return [item[0].offset for item in items]


def steps(items: list[Wanted]) -> list[tuple[str | None, list[int]]]:
    return [(event_type, offsets(group)) for event_type, group in plan_batches(items, TOGETHER)]


def test_messages_of_distinct_leads_go_to_the_batch_handler_together() -> None:
    items = [message(n, f"lead-{n}", "lead.status_changed") for n in range(5)]
    assert steps(items) == [("lead.status_changed", [0, 1, 2, 3, 4])]


def test_each_leads_nth_message_goes_in_the_nth_layer_and_a_layer_groups_a_type_across_leads() -> None:
    items = [
        message(0, "ada", "lead.status_changed"),
        message(1, "ada", "lead.status_changed"),
        message(2, "grace", "lead.status_changed"),
        message(3, "grace", "lead.status_changed"),
        message(4, "ada", "lead.engaged"),
    ]
    assert steps(items) == [
        ("lead.status_changed", [0, 2]),
        ("lead.status_changed", [1, 3]),
        (None, [4]),
    ]


def test_a_group_of_one_in_a_layer_runs_alone_in_its_place() -> None:
    items = [message(0, "ada", "lead.engaged"), message(1, "ada", "lead.status_changed")]
    assert steps(items) == [(None, [0]), (None, [1])]


def test_messages_without_a_key_promise_no_order_and_may_go_together() -> None:
    items = [message(n, None, "lead.status_changed") for n in range(3)]
    assert steps(items) == [("lead.status_changed", [0, 1, 2])]


def test_when_no_type_may_go_together_every_message_runs_alone_in_order() -> None:
    items = [message(n, "same", "lead.status_changed") for n in range(3)]
    assert [(t, offsets(g)) for t, g in plan_batches(items, {})] == [(None, [0]), (None, [1]), (None, [2])]


def test_a_message_about_a_lead_merged_away_comes_after_the_merge() -> None:
    survivor, merged = uuid4(), uuid4()
    merge = LeadMerged(lead_id=survivor, merged_id=merged, profile=LeadProfile())
    merge_item: Wanted = (
        ConsumerRecord("t", 0, 0, 0, 0, str(survivor).encode(), b"", None, 0, 0, []),
        new_event(merge, source="test"),
        merge,
        On(LeadMerged, _handle),
    )
    items = [
        merge_item,
        message(1, str(merged), "lead.status_changed"),
        message(2, "o", "lead.status_changed"),
        message(3, "p", "lead.status_changed"),
        message(4, str(survivor), "lead.status_changed"),
    ]
    assert steps(items) == [
        ("lead.status_changed", [2, 3]),
        (None, [0]),
        ("lead.status_changed", [1, 4]),
    ]
