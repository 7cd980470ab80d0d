"""Erasing a person from the nurture schema: the lead read model, email logs and notes; suppressions stay."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from leadflow_shared.erasure import ERASED, erase_read_model, redact_columns
from leadflow_shared.privacy import email_hash

OF_LEADS = "lead_id = ANY($2::uuid[])"
HASHED = "sha256:"


async def erase_schema(conn: asyncpg.Connection, lead_ids: Sequence[UUID]) -> frozenset[str]:
    """Pseudonymise the person's rows; enrollments, touches and their counts stay for the track KPIs."""
    ids = list(lead_ids)
    identifiers = await erase_read_model(conn, ids)
    await redact_columns(conn, "touches", ("last_error", "failure"), identifiers, ids, OF_LEADS)
    await redact_columns(conn, "enrollments", ("end_reason",), identifiers, ids, OF_LEADS)
    await conn.execute(
        f"UPDATE consent SET reason = '{ERASED}',"
        f" proof = CASE WHEN proof IS NULL THEN NULL ELSE '{ERASED}' END WHERE lead_id = ANY($1::uuid[])",
        ids,
    )
    await conn.execute(f"UPDATE archives SET explanation = '{ERASED}' WHERE lead_id = ANY($1::uuid[])", ids)
    # An address that bounced stays known as undeliverable by its hash only (no address to match any more).
    emails = sorted(i for i in identifiers if "@" in i)
    await conn.execute(
        "UPDATE undeliverable u SET email = $3 || h.hash"
        " FROM unnest($1::text[], $2::text[]) AS h(email, hash) WHERE u.email = h.email",
        emails,
        [email_hash(e) for e in emails],
        HASHED,
    )
    await redact_columns(conn, "undeliverable", ("reason",), identifiers)
    return identifiers
