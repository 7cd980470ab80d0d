"""The read model of leads nurture keeps from other services' events."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from leadflow_shared.contracts.lead import LeadProfile
from leadflow_shared.lead_read_model import lead_view, record_profile, record_status

__all__ = ["fill_profile", "lead_view", "record_profile", "record_status"]


async def fill_profile(conn: asyncpg.Connection, lead_id: UUID, profile: LeadProfile) -> None:
    """Keep a profile carried by another service's event only where intake's is not known yet."""
    await conn.execute(
        "INSERT INTO leads (id, profile) VALUES ($1, $2)"
        " ON CONFLICT (id) DO UPDATE SET profile = COALESCE(leads.profile, EXCLUDED.profile)",
        lead_id,
        profile.model_dump(mode="json"),
    )
