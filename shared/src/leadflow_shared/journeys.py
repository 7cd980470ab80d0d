"""One journey per lead: every event about a lead carries the correlation id it started with, and each
service keeps the dated facts it published about the lead as the lead's timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import EVENT_TYPES, EventData
from leadflow_shared.contracts.summaries import merged_summary, summarise

# Migrations (intake 0008, qualification 0008, opportunity 0006, nurture 0007) create these in each schema.
JOURNEYS_DDL = """
CREATE TABLE IF NOT EXISTS lead_journeys (
    lead_id uuid PRIMARY KEY,
    correlation_id text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS lead_timeline (
    id bigserial PRIMARY KEY,
    lead_id uuid NOT NULL,
    event_id uuid NOT NULL,
    at timestamptz NOT NULL,
    kind text NOT NULL,
    summary text NOT NULL,
    correlation_id text NOT NULL
);
CREATE INDEX IF NOT EXISTS lead_timeline_by_lead ON lead_timeline (lead_id, at, id);
"""
JOURNEYS_DROP_DDL = "DROP TABLE IF EXISTS lead_timeline;\nDROP TABLE IF EXISTS lead_journeys;\n"

# A later migration of every service drops lead_journeys: a lead's journey is its first timeline fact's.
JOURNEYS_TABLE_DROP = "DROP TABLE IF EXISTS lead_journeys;"
JOURNEYS_TABLE_BACK = """
CREATE TABLE IF NOT EXISTS lead_journeys (
    lead_id uuid PRIMARY KEY,
    correlation_id text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO lead_journeys (lead_id, correlation_id, started_at)
SELECT DISTINCT ON (lead_id) lead_id, correlation_id, at FROM lead_timeline ORDER BY lead_id, at, event_id
ON CONFLICT (lead_id) DO NOTHING;
"""

# A later migration of every service drops the timeline's serial key: facts are ordered by their time and
# their event id (a UUIDv7, rising with time), so an insert costs one index, not two and a sequence.
TIMELINE_KEY_DROP = """
DROP INDEX IF EXISTS lead_timeline_by_lead;
ALTER TABLE lead_timeline DROP COLUMN id;
CREATE INDEX lead_timeline_by_lead ON lead_timeline (lead_id, at, event_id);
"""
TIMELINE_KEY_BACK = """
DROP INDEX IF EXISTS lead_timeline_by_lead;
ALTER TABLE lead_timeline ADD COLUMN id bigserial PRIMARY KEY;
CREATE INDEX lead_timeline_by_lead ON lead_timeline (lead_id, at, id);
"""

# A lead's journey is the correlation id of the first fact about it; later events take it over (a data-
# modifying CTE does not see its own inserts, so `known` holds only journeys begun in earlier transactions).
_FOLLOW = """
WITH given AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[])
        WITH ORDINALITY AS g(lead_id, event_id, at, kind, summary, correlation_id, i)
), first AS (
    SELECT DISTINCT ON (lead_id) lead_id, correlation_id FROM given ORDER BY lead_id, i
), known AS (
    SELECT DISTINCT ON (t.lead_id) t.lead_id, t.correlation_id FROM lead_timeline t JOIN first USING (lead_id)
    ORDER BY t.lead_id, t.at, t.event_id
), facts AS (
    INSERT INTO lead_timeline (lead_id, event_id, at, kind, summary, correlation_id)
    SELECT g.lead_id, g.event_id, g.at, g.kind, g.summary, coalesce(k.correlation_id, f.correlation_id)
    FROM given g JOIN first f USING (lead_id) LEFT JOIN known k USING (lead_id) ORDER BY g.i
)
SELECT f.lead_id, coalesce(k.correlation_id, f.correlation_id) AS correlation_id
FROM first f LEFT JOIN known k USING (lead_id)
"""

# Facts whose journey their causing event carried, recorded by the statement that writes the outbox rows:
# the parameters after the outbox's four are the facts' columns.
WITH_FACTS = (
    "WITH facts AS (INSERT INTO lead_timeline (lead_id, event_id, at, kind, summary, correlation_id)"
    " SELECT lead_id, event_id, at, kind, summary, correlation_id"
    " FROM unnest($5::uuid[], $6::uuid[], $7::timestamptz[], $8::text[], $9::text[], $10::text[])"
    " WITH ORDINALITY AS f(lead_id, event_id, at, kind, summary, correlation_id, i) ORDER BY i) "
)


class Fact(NamedTuple):
    """One dated fact about one lead, from an event this service publishes (a tuple: one per event)."""

    lead_id: UUID
    correlation_id: str
    event_id: UUID
    at: datetime
    kind: str
    summary: str


def facts_of(data: EventData, envelope: Envelope) -> list[Fact]:
    """The timeline facts an event makes: one for its lead, one for each lead it merged away."""
    if envelope.subject is None:
        return []
    subject = Fact(
        _lead_id(data, envelope.subject),
        envelope.correlationid,
        envelope.id,
        envelope.time,
        data.event_type,
        summarise(data),
    )
    others = [
        Fact(
            UUID(other),
            envelope.correlationid,
            envelope.id,
            envelope.time,
            data.event_type,
            merged_summary(str(subject.lead_id)),
        )
        for other in data.other_leads()
    ]
    return [subject, *others]


def _lead_id(data: EventData, subject: str) -> UUID:
    """The subject as a UUID: the event's own lead id when its subject is that (parsing costs more than the
    rest of the fact)."""
    lead_id = getattr(data, "lead_id", None)
    if type(data).subject is EventData.subject and isinstance(lead_id, UUID):
        return lead_id
    return UUID(subject)


def carries_journey(data: EventData, envelope: Envelope, causation: Envelope | None, source: str) -> bool:
    """Whether the event's correlation id is its lead's journey already, so that no lookup is needed: it
    follows another leadflow service's event about the same lead, whose outbox stamped the journey."""
    if causation is None or causation.subject != envelope.subject or causation.source == source:
        return False
    if data.other_leads() or envelope.correlationid != causation.correlationid:
        return False
    model = EVENT_TYPES.get(causation.type)
    return model is not None and model.topic.endswith(".events")


def fact_columns(facts: list[Fact]) -> list[list[Any]]:
    """The facts as the columns WITH_FACTS and _FOLLOW take."""
    return [
        [f.lead_id for f in facts],
        [f.event_id for f in facts],
        [f.at for f in facts],
        [f.kind for f in facts],
        [f.summary for f in facts],
        [f.correlation_id for f in facts],
    ]


async def follow(conn: asyncpg.Connection, facts: list[Fact]) -> dict[UUID, str]:
    """Record the facts under each lead's journey (its first fact's correlation id); the journey of each."""
    rows = await conn.fetch(_FOLLOW, *fact_columns(facts))
    return {row["lead_id"]: row["correlation_id"] for row in rows}
