"""One journey per lead: every event about a lead carries the correlation id it started with, and each
service keeps the dated facts it published about the lead as the lead's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import EventData
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

# A lead's journey is the correlation id of the first event about it; later events take it over (a data-
# modifying CTE does not see its own inserts, so `known` holds only journeys begun in earlier transactions).
_FOLLOW = """
WITH given AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[])
        WITH ORDINALITY AS g(lead_id, correlation_id, event_id, at, kind, summary, i)
), first AS (
    SELECT DISTINCT ON (lead_id) lead_id, correlation_id FROM given ORDER BY lead_id, i
), known AS (
    SELECT j.lead_id, j.correlation_id FROM lead_journeys j JOIN first USING (lead_id)
), started AS (
    INSERT INTO lead_journeys (lead_id, correlation_id) SELECT lead_id, correlation_id FROM first
    ON CONFLICT (lead_id) DO NOTHING
), facts AS (
    INSERT INTO lead_timeline (lead_id, event_id, at, kind, summary, correlation_id)
    SELECT g.lead_id, g.event_id, g.at, g.kind, g.summary, coalesce(k.correlation_id, f.correlation_id)
    FROM given g JOIN first f USING (lead_id) LEFT JOIN known k USING (lead_id) ORDER BY g.i
)
SELECT f.lead_id, coalesce(k.correlation_id, f.correlation_id) AS correlation_id
FROM first f LEFT JOIN known k USING (lead_id)
"""


@dataclass(frozen=True)
class Fact:
    """One dated fact about one lead, from an event this service publishes."""

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
        UUID(envelope.subject),
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


async def follow(conn: asyncpg.Connection, facts: list[Fact]) -> dict[UUID, str]:
    """Record the facts under each lead's journey, beginning journeys for new leads; the journey of each."""
    rows = await conn.fetch(
        _FOLLOW,
        [f.lead_id for f in facts],
        [f.correlation_id for f in facts],
        [f.event_id for f in facts],
        [f.at for f in facts],
        [f.kind for f in facts],
        [f.summary for f in facts],
    )
    return {row["lead_id"]: row["correlation_id"] for row in rows}
