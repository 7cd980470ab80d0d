"""The CloudEvents envelope: what goes on the wire and what comes back."""

from __future__ import annotations

import re
import uuid

import orjson
import pytest

from leadflow_shared.contracts.envelope import (
    MalformedEvent,
    decode,
    decode_data,
    decode_typed,
    encode,
    new_event,
    trace_parent,
)
from leadflow_shared.contracts.events import EVENT_MODELS, EVENT_TYPES, LeadCaptured, LeadStatusChanged
from leadflow_shared.contracts.lead import Channel, LeadProfile, Touch
from leadflow_shared.contracts.topics import all_topics, dlq


def ada_captured() -> LeadCaptured:
    return LeadCaptured(
        lead_id=uuid.UUID("0b5e3a4e-0000-4000-8000-000000000001"),
        profile=LeadProfile(first_name="Ada", last_name="Lovelace", email="ada@analytical-engines.example"),
        touch=Touch(channel=Channel.WEB_FORM, source_system="website", occurred_at="2026-11-20T09:30:00Z"),
    )


def test_a_new_event_is_a_cloudevent_whose_subject_and_key_are_the_lead_id() -> None:
    envelope = new_event(ada_captured(), source="intake")
    wire = orjson.loads(encode(envelope))
    assert wire["specversion"] == "1.0"
    assert wire["type"] == "lead.captured"
    assert wire["source"] == "intake"
    assert wire["subject"] == "0b5e3a4e-0000-4000-8000-000000000001"
    assert envelope.key() == b"0b5e3a4e-0000-4000-8000-000000000001"
    assert wire["data"]["profile"]["email"] == "ada@analytical-engines.example"


def test_an_event_caused_by_another_carries_its_correlation_id_and_names_its_cause() -> None:
    cause = new_event(ada_captured(), source="intake", correlation_id="submission-42")
    effect = new_event(
        LeadStatusChanged(
            lead_id=uuid.uuid4(),
            from_status=None,
            to_status="open",
            category="open",
            reason="new",
            actor="rule",
        ),
        source="qualification",
        causation=cause,
    )
    assert effect.correlationid == "submission-42"
    assert effect.causationid == str(cause.id)
    assert effect.traceparent is not None
    assert cause.traceparent is not None
    assert effect.traceparent.split("-")[1] == cause.traceparent.split("-")[1], "one journey, one trace"
    assert effect.traceparent.split("-")[2] != cause.traceparent.split("-")[2], "each event its own span"


def test_a_first_event_is_its_own_correlation() -> None:
    envelope = new_event(ada_captured(), source="intake")
    assert envelope.correlationid == str(envelope.id)
    assert envelope.causationid is None


def test_the_traceparent_is_w3c_trace_context_with_a_uuid_journey_as_its_trace_id() -> None:
    envelope = new_event(ada_captured(), source="intake")
    assert envelope.traceparent == f"00-{envelope.id.hex}-{envelope.id.hex[16:]}-00"
    named = trace_parent("web-form-7", envelope.id)
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00", named)
    assert named == trace_parent("web-form-7", envelope.id)
    assert decode(encode(envelope)).traceparent == envelope.traceparent


def test_an_effect_takes_its_causes_trace_only_from_a_well_formed_traceparent() -> None:
    cause = new_event(ada_captured(), source="intake", correlation_id="submission-42")
    forged = cause.model_copy(update={"traceparent": "00-not-a-trace\r\nX-Injected: 1"})
    for given in (cause, forged):
        effect = new_event(ada_captured(), source="qualification", causation=given)
        assert effect.traceparent == trace_parent("submission-42", effect.id)


def test_event_ids_are_uuid7_rising_with_time_and_distinct_within_a_millisecond() -> None:
    ids = [new_event(ada_captured(), source="intake").id for _ in range(2000)]
    assert {event_id.version for event_id in ids} == {7}
    assert len(set(ids)) == len(ids)
    stamps = [event_id.int >> 80 for event_id in ids]
    assert stamps == sorted(stamps), "the millisecond leads, so ids rise with time"
    spans = {trace_parent("one journey", event_id).split("-")[2] for event_id in ids}
    assert len(spans) == len(ids), "events of one millisecond still get spans of their own"


def test_encoding_then_decoding_gives_the_same_event_data_back() -> None:
    original = ada_captured()
    assert decode_data(decode(encode(new_event(original, source="intake")))) == original


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (b"", "empty"),
        (b"{not json", "not a valid CloudEvent"),
        (b'{"specversion": "1.0", "type": "lead.captured", "data": {}}', "source"),
        (b'{"specversion": "0.3", "id": "x", "source": "s", "type": "t", "data": {}}', "specversion"),
    ],
)
def test_bytes_that_are_not_a_valid_cloudevent_are_refused_naming_the_problem(raw: bytes, names: str) -> None:
    with pytest.raises(MalformedEvent, match=names):
        decode(raw)


def test_data_that_does_not_fit_its_type_is_refused_naming_the_field() -> None:
    envelope = new_event(ada_captured(), source="intake").model_copy(update={"data": {"lead_id": "nope"}})
    with pytest.raises(MalformedEvent, match=r"lead\.captured data: lead_id"):
        decode_data(envelope)


def test_one_pass_decoding_by_the_type_header_gives_what_two_steps_give() -> None:
    raw = encode(new_event(ada_captured(), source="intake"))

    envelope, data = decode_typed(raw, "lead.captured")

    assert data == decode_data(decode(raw))
    assert envelope.parsed() is data
    assert (envelope.id, envelope.correlationid, envelope.type) == (
        decode(raw).id,
        decode(raw).correlationid,
        "lead.captured",
    )


def test_one_pass_decoding_names_the_same_problem_as_two_steps() -> None:
    envelope = new_event(ada_captured(), source="intake").model_copy(update={"data": {"lead_id": "nope"}})

    with pytest.raises(MalformedEvent, match=r"^invalid lead\.captured data: lead_id"):
        decode_typed(encode(envelope), "lead.captured")


def test_a_body_whose_type_differs_from_its_header_is_judged_by_its_own_type() -> None:
    raw = encode(new_event(ada_captured(), source="intake"))

    envelope, data = decode_typed(raw, "lead.updated")

    assert (envelope.type, type(data)) == ("lead.captured", LeadCaptured)


def test_an_unknown_event_type_is_refused() -> None:
    envelope = new_event(ada_captured(), source="intake").model_copy(update={"type": "lead.teleported"})
    with pytest.raises(MalformedEvent, match=r"unknown event type 'lead\.teleported'"):
        decode_data(envelope)


def test_every_event_type_is_registered_once_and_lives_on_a_known_topic() -> None:
    assert len(EVENT_TYPES) == len(EVENT_MODELS)
    for model in EVENT_MODELS:
        assert model.topic in all_topics()
        assert dlq(model.topic) in all_topics()


def test_topics_take_the_configured_prefix() -> None:
    assert "t1.intake.events" in all_topics("t1.")
    assert "t1.intake.events.dlq" in all_topics("t1.")
