"""The read model of leads that opportunity and nurture keep from other services' events (table `leads`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from leadflow_shared.contracts.lead import LeadProfile


async def record_status(conn: asyncpg.Connection, lead_id: UUID, status: str, category: str) -> None:
    """Keep the lead's current status."""
    await conn.execute(
        "INSERT INTO leads (id, status, category) VALUES ($1, $2, $3)"
        " ON CONFLICT (id) DO UPDATE SET status = $2, category = $3, updated_at = now()",
        lead_id,
        status,
        category,
    )


async def record_profile(conn: asyncpg.Connection, lead_id: UUID, profile: LeadProfile) -> None:
    """Keep the lead's current profile."""
    await conn.execute(
        "INSERT INTO leads (id, profile) VALUES ($1, $2)"
        " ON CONFLICT (id) DO UPDATE SET profile = $2, updated_at = now()",
        lead_id,
        profile.model_dump(mode="json"),
    )


async def lead_view(conn: asyncpg.Connection, lead_id: UUID) -> dict[str, Any] | None:
    """What this service knows of a lead."""
    row = await conn.fetchrow("SELECT * FROM leads WHERE id = $1", lead_id)
    return dict(row) if row else None
