"""SQL of the export: everything intake holds about a person as stored, table by table."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from leadflow_intake.adapters import erasure
from leadflow_intake.domain.normalise import email_key

OF_LEADS = "lead_id = ANY($1::uuid[])"
TABLES = {
    "leads": "SELECT * FROM leads WHERE id = ANY($1::uuid[]) ORDER BY created_at, id",
    "touches": f"SELECT * FROM touches WHERE {OF_LEADS} ORDER BY occurred_at, id",
    "identity_keys": f"SELECT * FROM identity_keys WHERE {OF_LEADS} ORDER BY kind, value",
    "activities": f"SELECT * FROM activities WHERE {OF_LEADS} ORDER BY occurred_at",
    "consent_changes": f"SELECT * FROM consent_changes WHERE {OF_LEADS} ORDER BY received_at",
    "duplicates": f"SELECT * FROM duplicates WHERE {OF_LEADS} OR candidate_id = ANY($1::uuid[])",
    "erasure_requests": "SELECT id, origin, requested_at FROM erasure_requests WHERE lead_ids && $1::uuid[]",
}


async def person(conn: asyncpg.Connection, email: str | None, lead_id: UUID | None) -> list[UUID]:
    """Every lead of the person, merged ones included."""
    return await erasure.person_leads(conn, email_key(email) if email else None, lead_id)
