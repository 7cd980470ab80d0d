"""SQL of consent: each lead's opt-in or opt-out in force per channel."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from leadflow_nurture.domain.consent import ConsentChange
from leadflow_shared.contracts.lead import ContactChannel


async def keep(conn: asyncpg.Connection, change: ConsentChange) -> None:
    """Make the change the lead's consent on its channel."""
    await conn.execute(
        "INSERT INTO consent (lead_id, channel, opted_in, reason, source, proof, changed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (lead_id, channel) DO UPDATE SET opted_in = $3, reason = $4, source = $5, proof = $6,"
        " changed_at = $7",
        change.lead_id,
        change.channel.value,
        change.opted_in,
        change.reason,
        change.source,
        change.proof,
        change.at,
    )


async def current(conn: asyncpg.Connection, lead_id: UUID, channel: ContactChannel) -> dict[str, Any] | None:
    """The lead's recorded consent on one channel, if any."""
    row = await conn.fetchrow(
        "SELECT channel, opted_in, reason, source, proof, changed_at FROM consent"
        " WHERE lead_id = $1 AND channel = $2",
        lead_id,
        channel.value,
    )
    return dict(row) if row else None
