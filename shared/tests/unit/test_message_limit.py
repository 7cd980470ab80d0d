"""Kafka's message limit: events over it refused when written, rows parked by the relay, dead letters cut."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from uuid import uuid4

import pytest
from aiokafka import ConsumerRecord

from leadflow_shared.consumer import dead_letter
from leadflow_shared.contracts.envelope import TYPE_HEADER
from leadflow_shared.contracts.events import LeadStatusChanged
from leadflow_shared.limits import config_values, effective_limit
from leadflow_shared.outbox import (
    RETRY_MAX_S,
    EventTooLarge,
    Outbox,
    OutboxHealth,
    ParkingLot,
    message_size,
    next_backoff,
)

LIMIT = 1_048_576


def status_changed(reason: str = "new") -> LeadStatusChanged:
    return LeadStatusChanged(
        lead_id=uuid4(), from_status=None, to_status="open", category="open", reason=reason, actor="rule"
    )


def test_a_messages_size_counts_its_key_value_headers_and_the_records_overhead() -> None:
    bare = message_size(None, b"", None)

    assert message_size(b"lead-1", b"x" * 100, None) == bare + 106
    header = ("ce_type", "lead.captured")
    assert message_size(None, b"", [header]) > bare + len(header[0]) + len(header[1])


async def test_an_event_over_the_limit_is_refused_when_emitted_and_nothing_is_queued() -> None:
    outbox = Outbox(conn=None, source="qualification", max_message_bytes=2_000)

    await outbox.emit(status_changed("short"))
    with pytest.raises(EventTooLarge) as refused:
        await outbox.emit(status_changed("r" * 2_000))

    assert refused.value.limit == 2_000
    assert refused.value.size > 2_000
    assert "2000-byte" in str(refused.value)
    assert len(outbox.pending) == 1


async def test_a_raw_message_over_the_limit_is_refused_by_put_many() -> None:
    outbox = Outbox(conn=None, source="intake", max_message_bytes=2_000)

    with pytest.raises(EventTooLarge):
        await outbox.put_many([("t", b"k", b"fits", []), ("t", b"k", b"x" * 2_000, [])])

    assert [row[2] for row in outbox.pending] == [b"fits"]


def test_a_row_over_the_limit_is_parked_and_holds_back_its_keys_later_rows_only() -> None:
    lot = ParkingLot(limit=1_000)

    admitted = [
        lot.admit(1, "t", b"lead-a", b"x" * 1_000, None),
        lot.admit(2, "t", b"lead-b", b"ok", None),
        lot.admit(3, "t", b"lead-a", b"ok", None),
        lot.admit(4, "other", b"lead-a", b"ok", None),
        lot.admit(5, "t", None, b"ok", None),
    ]

    assert admitted == [False, True, False, True, True]
    assert [(p.row_id, p.kind) for p in lot.parked] == [(1, "too_large"), (3, "held")]
    assert "over the 1000-byte limit" in lot.parked[0].reason
    assert lot.parked[1].reason == "held behind parked row 1 of the same key"


def test_a_row_behind_one_parked_in_an_earlier_round_is_held_too() -> None:
    lot = ParkingLot(limit=1_000)

    assert not lot.admit(9, "t", b"lead-a", b"ok", None, held_by=4)
    assert not lot.admit(10, "t", b"lead-a", b"ok", None)

    assert [(p.row_id, p.reason) for p in lot.parked] == [
        (9, "held behind parked row 4 of the same key"),
        (10, "held behind parked row 9 of the same key"),
    ]


def test_a_row_that_cannot_be_sent_holds_back_its_keys_later_rows() -> None:
    lot = ParkingLot(limit=1_000)

    lot.park(1, "t", b"lead-a", "cannot be sent: TypeError: headers", "invalid")

    assert not lot.admit(2, "t", b"lead-a", b"ok", None)
    assert lot.blocker("t", b"lead-a") == 1
    assert lot.blocker("t", None) is None


@pytest.mark.parametrize(
    ("oldest", "idle", "stalled"),
    [
        (None, None, False),
        (30.0, 300.0, False),
        (90.0, 5.0, False),
        (90.0, 90.0, True),
        (90.0, None, True),
    ],
)
def test_the_relay_is_stalled_only_when_rows_wait_and_none_moved_for_the_stall_time(
    oldest: float | None, idle: float | None, stalled: bool
) -> None:
    assert OutboxHealth(oldest, 0, idle).stalled(60.0) is stalled


def test_the_retry_wait_doubles_up_to_its_ceiling() -> None:
    waits = [0.5]
    for _ in range(10):
        waits.append(next_backoff(waits[-1]))

    assert waits[:4] == [0.5, 1.0, 2.0, 4.0]
    assert waits[-1] == RETRY_MAX_S


def test_the_limit_is_the_smallest_of_the_topics_the_brokers_and_the_producer() -> None:
    assert effective_limit({"a": 2_000_000, "b": 900_000}, [], LIMIT) == 900_000
    assert effective_limit({"a": 2_000_000}, [5_000_000], LIMIT) == LIMIT
    assert effective_limit({}, [500_000, 1_048_588], LIMIT) == 500_000


def test_config_values_are_read_from_describe_configs_and_resources_in_error_left_out() -> None:
    response = SimpleNamespace(
        resources=[
            (0, "", 2, "s.intake.events", [("max.message.bytes", "10000", False, 1, False, [])]),
            (3, "", 2, "s.leads.activity", []),
        ]
    )

    assert config_values([response], "max.message.bytes") == {"s.intake.events": 10_000}


def record(value: bytes, key: bytes | None = b"lead-1") -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        "s.intake.events", 2, 41, 0, 0, key, value, None, len(value), len(key or b""), [(TYPE_HEADER, b"x")]
    )


def test_a_dead_letter_that_fits_is_a_full_copy_with_its_reason() -> None:
    topic, key, value, headers = dead_letter(record(b"{}"), "not a valid CloudEvent", "q.x", LIMIT)

    assert (topic, key, value) == ("s.intake.events.dlq", b"lead-1", b"{}")
    assert ("dlq.reason", "not a valid CloudEvent") in headers
    assert not any(name == "dlq.truncated" for name, _ in headers)


def test_the_dead_letter_of_a_message_near_the_limit_is_cut_to_fit_with_the_originals_size_and_hash() -> None:
    original = bytes(range(256)) * 4096
    original = original[:1_048_398]

    topic, key, value, headers = dead_letter(record(original), "r" * 5_000, "qualification.x", LIMIT)

    assert message_size(key, value, headers) <= LIMIT
    assert original.startswith(value)
    assert 0 < len(value) < len(original)
    named = dict(headers)
    assert named["dlq.truncated"] == "true"
    assert named["dlq.original_size"] == "1048398"
    assert named["dlq.original_sha256"] == hashlib.sha256(original).hexdigest()
    assert named["dlq.offset"] == "41"
    assert (topic, key) == ("s.intake.events.dlq", b"lead-1")
