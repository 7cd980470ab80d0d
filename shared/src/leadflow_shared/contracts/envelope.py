"""The CloudEvents 1.0 envelope (structured JSON mode) every event travels in."""

from __future__ import annotations

import functools
import hashlib
import random
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from leadflow_shared.contracts.events import EVENT_TYPES, EventData

TYPE_HEADER = "ce_type"
"""The Kafka header that names an event's type beside the structured JSON, so a consumer can pass over the
types it does not handle without parsing them (the CloudEvents Kafka binding's name for the attribute)."""


class UnknownEventType(ValueError):
    """The envelope names a type no model is registered for."""


class MalformedEvent(ValueError):
    """The bytes are not a valid CloudEvent of a known type."""


class Envelope(BaseModel):
    """A CloudEvent: context attributes, the correlation and causation extensions, and the data."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: UUID = Field(default_factory=uuid4)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    correlationid: str = Field(min_length=1)
    causationid: str | None = None
    traceparent: str | None = Field(
        default=None,
        description="W3C trace context (CloudEvents distributed tracing): the journey's trace id, the event's"
        " span id; one lead's events share one trace",
    )
    data: dict[str, Any]

    def parsed(self) -> EventData:
        """Validate the data against the model of the envelope's type."""
        if isinstance(self.data, EventData):
            # Read by decode_typed, the data is its model already.
            return self.data
        model = EVENT_TYPES.get(self.type)
        if model is None:
            raise UnknownEventType(f"unknown event type {self.type!r}")
        return model.model_validate(self.data)

    def key(self) -> bytes | None:
        """The Kafka key: the lead id (subject), so one lead's events stay in order."""
        return self.subject.encode() if self.subject else None


def new_event(
    data: EventData,
    *,
    source: str,
    correlation_id: str | None = None,
    causation: Envelope | None = None,
    subject: str | None = None,
) -> Envelope:
    """Wrap event data in a new envelope; the correlation id follows the causing event's."""
    event_id = new_event_id()
    if correlation_id is None:
        correlation_id = causation.correlationid if causation else str(event_id)
    return Envelope(
        id=event_id,
        source=source,
        type=data.event_type,
        subject=subject if subject is not None else data.subject(),
        correlationid=correlation_id,
        causationid=str(causation.id) if causation else None,
        traceparent=_follow_trace(causation, correlation_id, event_id),
        data=data.model_dump(mode="json"),
    )


def new_event_id() -> UUID:
    """A UUIDv7 (RFC 9562): the millisecond, then 74 random bits. One service's event ids rise with time, so
    the inboxes and timelines that index them take each at the right edge of their index, not anywhere; and no
    system call per id (uuid4 reads os.urandom each time). Ids must be unique, not secret."""
    rand = random.getrandbits(74)
    return UUID(
        int=(time.time_ns() // 1_000_000 & _MS_MASK) << 80
        | 0x7 << 76
        | (rand >> 62) << 64
        | 0b10 << 62
        | (rand & _RAND_B_MASK)
    )


_MS_MASK = (1 << 48) - 1
# W3C trace context, version 00: a cause's traceparent from outside leadflow is reused only in this shape.
_TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
_RAND_B_MASK = (1 << 62) - 1


def _follow_trace(causation: Envelope | None, correlation_id: str, event_id: UUID) -> str:
    """The traceparent of a new event: the cause's trace when it shares the cause's journey."""
    parent = causation.traceparent if causation is not None else None
    if parent and causation and causation.correlationid == correlation_id and _TRACEPARENT.fullmatch(parent):
        # The same journey is the same trace: no need to work the trace id out of the correlation id again.
        return f"{parent[:36]}{event_id.hex[16:]}-00"
    return trace_parent(correlation_id, event_id)


def trace_parent(correlation_id: str, event_id: UUID) -> str:
    """The W3C traceparent of an event: its journey as the trace (the correlation id itself when it is a
    UUID), the event as the span, not sampled (no tracer records it unless one is configured)."""
    try:
        trace = UUID(correlation_id).hex
    except ValueError:
        trace = hashlib.blake2b(correlation_id.encode(), digest_size=16).hexdigest()
    # The id's low half: its random bits (a UUIDv7's high half is its time, shared by a millisecond's events).
    return f"00-{trace}-{event_id.hex[16:]}-00"


def encode(envelope: Envelope) -> bytes:
    """Serialise an envelope as CloudEvents structured-mode JSON."""
    # The data is JSON-ready already and orjson writes UUIDs and datetimes itself: no second model walk.
    fields = {name: value for name, value in envelope.__dict__.items() if value is not None}
    return orjson.dumps(fields, option=orjson.OPT_UTC_Z)


def header_type(headers: Sequence[tuple[str, bytes]] | None) -> str | None:
    """The event type the message headers name, or None when they name none (a message from elsewhere)."""
    for key, value in headers or ():
        if key == TYPE_HEADER:
            return value.decode(errors="replace")
    return None


def decode(raw: bytes | None) -> Envelope:
    """Parse and validate CloudEvents JSON; raise MalformedEvent naming the problem."""
    if not raw:
        raise MalformedEvent("empty message")
    try:
        return Envelope.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors()
        )
        raise MalformedEvent(f"not a valid CloudEvent: {problems}") from exc


def decode_typed(raw: bytes | None, event_type: str) -> tuple[Envelope, EventData]:
    """Parse a message whose header names a registered type, envelope and data in one pass over the JSON;
    raise MalformedEvent as decode and decode_data do.

    A message the one pass refuses, or whose envelope names another type than its header, takes the two-step
    path, so what it is judged by, and the problem named, are those of its own envelope.
    """
    if raw:
        try:
            envelope = _typed_envelope(event_type).model_validate_json(raw)
        except ValidationError:
            pass
        else:
            if envelope.type == event_type:
                return envelope, envelope.data
    envelope = decode(raw)
    return envelope, decode_data(envelope)


@functools.cache
def _typed_envelope(event_type: str) -> Any:
    """An Envelope whose data is validated as the type's model (one per registered type)."""
    return create_model(f"Envelope[{event_type}]", __base__=Envelope, data=(EVENT_TYPES[event_type], ...))


def decode_data(envelope: Envelope) -> EventData:
    """Validate the data of an envelope, raising MalformedEvent naming the problem."""
    try:
        return envelope.parsed()
    except UnknownEventType as exc:
        raise MalformedEvent(str(exc)) from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'data'}: {err['msg']}" for err in exc.errors()
        )
        raise MalformedEvent(f"invalid {envelope.type} data: {problems}") from exc
