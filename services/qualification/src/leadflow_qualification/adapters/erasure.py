"""Erasing a person from the qualification schema: profiles, status history reasons and decisions."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from leadflow_shared.erasure import ERASED, erase_read_model, redact_columns, redact_json_columns

OF_LEADS = "lead_id = ANY($2::uuid[])"


async def erase_schema(conn: asyncpg.Connection, lead_ids: Sequence[UUID]) -> frozenset[str]:
    """Pseudonymise the leads' rows; statuses, scores and times stay so the funnel counts stay true."""
    ids = list(lead_ids)
    identifiers = await erase_read_model(conn, ids)
    await redact_json_columns(
        conn, "leads", "id", ("sales_input", "decision"), identifiers, ids, "id = ANY($2::uuid[])"
    )
    # A reason is free text a person may have typed about the lead: none is kept.
    await conn.execute(f"UPDATE status_history SET reason = '{ERASED}' WHERE lead_id = ANY($1::uuid[])", ids)
    await redact_columns(conn, "decisions", ("reason",), identifiers, ids, OF_LEADS)
    await redact_json_columns(conn, "decisions", "ctid", ("body",), identifiers, ids, OF_LEADS)
    return identifiers
