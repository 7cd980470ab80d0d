"""Erasing a person from the opportunity schema: the lead read model, contacts and opportunity names."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from leadflow_shared.erasure import erase_read_model, identifiers_of, redact_columns, redact_json_columns

OF_LEADS = "lead_id = ANY($2::uuid[])"
OF_THEIR_OPPORTUNITIES = "opportunity_id IN (SELECT id FROM opportunities WHERE lead_id = ANY($2::uuid[]))"


async def erase_schema(conn: asyncpg.Connection, lead_ids: Sequence[UUID]) -> frozenset[str]:
    """Pseudonymise the person's contact and what names them; amounts and stages stay for the KPIs."""
    ids = list(lead_ids)
    contacts = await conn.fetch(
        "SELECT first_name, last_name, email, phone FROM contacts WHERE lead_id = ANY($1::uuid[]) FOR UPDATE",
        ids,
    )
    identifiers = await erase_read_model(conn, ids) | identifiers_of(dict(c) for c in contacts)
    await conn.execute(
        "UPDATE contacts SET first_name = NULL, last_name = NULL, email = NULL, phone = NULL,"
        " job_title = NULL, email_key = NULL, updated_at = now() WHERE lead_id = ANY($1::uuid[])",
        ids,
    )
    await redact_json_columns(
        conn, "contacts", "id", ("signals", "criteria_check"), identifiers, ids, OF_LEADS
    )
    await redact_columns(conn, "opportunities", ("name", "lost_reason"), identifiers, ids, OF_LEADS)
    await redact_columns(conn, "stage_history", ("lost_reason",), identifiers, ids, OF_THEIR_OPPORTUNITIES)
    await redact_columns(conn, "accounts", ("name",), identifiers)
    return identifiers
