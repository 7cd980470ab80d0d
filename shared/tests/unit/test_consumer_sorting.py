"""How a consumer sorts a poll's messages: handled, dead-lettered, or passed over by their type header."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from aiokafka import ConsumerRecord

from leadflow_shared.consumer import On, sort_messages
from leadflow_shared.contracts.envelope import TYPE_HEADER, encode, new_event
from leadflow_shared.contracts.events import LeadStatusChanged
from leadflow_shared.outbox import Outbox


async def _handle(uow: Any, events: Any) -> None:
    """A handler that is never called here."""


HANDLERS = {"lead.status_changed": On(LeadStatusChanged, _handle)}


def record(offset: int, value: bytes, headers: list[tuple[str, bytes]]) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord("t", 0, offset, 0, 0, b"lead", value, None, len(value), 0, headers)


def status_changed() -> bytes:
    data = LeadStatusChanged(
        lead_id=uuid4(), from_status=None, to_status="open", category="open", reason="r", actor="a"
    )
    return encode(new_event(data, source="test"))


async def test_the_outbox_names_each_events_type_in_a_header() -> None:
    data = LeadStatusChanged(
        lead_id=uuid4(), from_status=None, to_status="open", category="open", reason="r", actor="a"
    )
    outbox = Outbox(conn=None, source="qualification")

    await outbox.emit(data)

    assert outbox.pending[0][3] == [(TYPE_HEADER, "lead.status_changed")]


def test_a_message_whose_header_names_an_unhandled_type_is_passed_over_without_parsing() -> None:
    unparseable = record(0, b"not json at all", [(TYPE_HEADER, b"opportunity.opened")])

    dead, wanted, ignored = sort_messages([unparseable], HANDLERS)

    assert (dead, wanted, ignored) == ([], [], 1)


def test_a_message_whose_header_names_a_handled_type_is_parsed_and_handed_over() -> None:
    good = record(0, status_changed(), [(TYPE_HEADER, b"lead.status_changed")])
    broken = record(1, b"{}", [(TYPE_HEADER, b"lead.status_changed")])

    dead, wanted, ignored = sort_messages([good, broken], HANDLERS)

    assert [msg.offset for msg, *_ in wanted] == [0]
    assert [msg.offset for msg, *_ in dead] == [1]
    assert ignored == 0


def test_a_message_without_the_header_is_parsed_to_learn_its_type() -> None:
    unhandled = record(0, b'{"specversion": "1.0"}', [])
    handled = record(1, status_changed(), [])

    dead, wanted, ignored = sort_messages([unhandled, handled], HANDLERS)

    assert [msg.offset for msg, *_ in dead] == [0]
    assert [msg.offset for msg, *_ in wanted] == [1]
    assert ignored == 0


def test_a_message_whose_header_names_an_unknown_type_is_dead_lettered_with_the_type_named() -> None:
    stray = record(0, b"{}", [(TYPE_HEADER, b"lead.teleported")])

    dead, wanted, ignored = sort_messages([stray], HANDLERS)

    assert [(msg.offset, kind, reason) for msg, kind, reason in dead] == [
        (0, "unknown_type", "unknown event type 'lead.teleported'")
    ]
    assert (wanted, ignored) == ([], 0)


def test_a_message_of_an_unknown_type_without_the_header_is_dead_lettered_not_ignored() -> None:
    envelope = new_event(
        LeadStatusChanged(
            lead_id=uuid4(), from_status=None, to_status="open", category="open", reason="r", actor="a"
        ),
        source="test",
    ).model_copy(update={"type": "lead.teleported"})
    stray = record(0, encode(envelope), [])

    dead, wanted, ignored = sort_messages([stray], HANDLERS)

    assert [(kind, reason) for _, kind, reason in dead] == [
        ("unknown_type", "unknown event type 'lead.teleported'")
    ]
    assert (wanted, ignored) == ([], 0)


def test_a_malformed_message_is_dead_lettered_as_malformed() -> None:
    broken = record(0, b"{", [(TYPE_HEADER, b"lead.status_changed")])

    dead, _, _ = sort_messages([broken], HANDLERS)

    assert [kind for _, kind, _ in dead] == ["malformed"]
