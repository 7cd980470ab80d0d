"""The read model of leads that opportunity and nurture keep from other services' events (table `leads`).

Each write takes many leads and costs one statement, with the effect of writing each in turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from leadflow_shared.contracts.lead import LeadProfile
from leadflow_shared.db import execute_by_key


async def record_statuses(conn: asyncpg.Connection, changes: Sequence[tuple[UUID, str, str]]) -> None:
    """Keep the current status of each lead: (lead id, status, category)."""
    await execute_by_key(
        conn,
        "INSERT INTO leads (id, status, category) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])"
        " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, category = EXCLUDED.category,"
        " updated_at = now()",
        changes,
    )


async def record_profiles(
    conn: asyncpg.Connection, profiles: Sequence[tuple[UUID, LeadProfile]], *, fill: bool = False
) -> None:
    """Keep the current profile of each lead; with fill, only where none is known yet (intake's wins)."""
    update = "COALESCE(leads.profile, EXCLUDED.profile)" if fill else "EXCLUDED.profile, updated_at = now()"
    await execute_by_key(
        conn,
        "INSERT INTO leads (id, profile) SELECT * FROM unnest($1::uuid[], $2::jsonb[])"
        f" ON CONFLICT (id) DO UPDATE SET profile = {update}",
        ((lead_id, profile.model_dump(mode="json")) for lead_id, profile in profiles),
        # Filling keeps the first profile a lead gets: of one lead's profiles, the first is what counts.
        keep="first" if fill else "last",
    )


async def lead_view(conn: asyncpg.Connection, lead_id: UUID) -> dict[str, Any] | None:
    """What this service knows of a lead."""
    row = await conn.fetchrow("SELECT * FROM leads WHERE id = $1", lead_id)
    return dict(row) if row else None


class LeadRecord(BaseModel):
    """What the read model holds of a lead; a lead known only from other records has no category or time."""

    id: UUID
    status: str | None
    category: str | None = None
    profile: dict[str, Any] | None
    updated_at: datetime | None = None
