"""SQL for the qualification schema."""

from __future__ import annotations

from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from leadflow_shared.contracts.lead import LeadProfile, Touch

Conn: TypeAlias = asyncpg.Connection


async def insert_lead(
    conn: Conn, lead_id: UUID, status: str, category: str, profile: LeadProfile, touch: Touch | None
) -> bool:
    """Store a new lead with its first status; answer False when it was known already."""
    result = await conn.execute(
        "INSERT INTO leads (id, status, category, profile, touch) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (id) DO NOTHING",
        lead_id,
        status,
        category,
        profile.model_dump(mode="json"),
        touch.model_dump(mode="json") if touch else None,
    )
    return bool(result.endswith(" 1"))


async def update_profile(conn: Conn, lead_id: UUID, profile: LeadProfile) -> None:
    """Keep the lead's profile current."""
    await conn.execute(
        "UPDATE leads SET profile = $2, updated_at = now() WHERE id = $1",
        lead_id,
        profile.model_dump(mode="json"),
    )


async def add_history(
    conn: Conn, lead_id: UUID, from_status: str | None, to_status: str, category: str, reason: str, actor: str
) -> None:
    """Keep one status change in the history."""
    await conn.execute(
        "INSERT INTO status_history (lead_id, from_status, to_status, category, reason, actor)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        lead_id,
        from_status,
        to_status,
        category,
        reason,
        actor,
    )


async def lead_view(conn: Conn, lead_id: UUID) -> dict[str, Any] | None:
    """A lead's status, scores and history for the API."""
    lead = await conn.fetchrow("SELECT * FROM leads WHERE id = $1", lead_id)
    if lead is None:
        return None
    history = await conn.fetch(
        "SELECT from_status, to_status, category, reason, actor, at FROM status_history"
        " WHERE lead_id = $1 ORDER BY id",
        lead_id,
    )
    return {**dict(lead), "history": [dict(h) for h in history]}
