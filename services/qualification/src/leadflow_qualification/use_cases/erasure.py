"""Erasure in the qualification schema: profiles, status history reasons, decisions and the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import PersonErasureRequested, QualificationPersonErased
from leadflow_shared.erasure import ERASED, erase_read_model, honour, redact_columns, redact_json_columns
from leadflow_shared.uow import UnitOfWork

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


async def person_erasure_requested(
    uow: UnitOfWork, data: PersonErasureRequested, causation: Envelope
) -> None:
    """intake asked every service to erase a person: erase qualification's part and confirm."""
    await honour(uow, data, causation, QualificationPersonErased, erase_schema)
