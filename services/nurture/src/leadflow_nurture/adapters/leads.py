"""The read model of leads nurture keeps from other services' events."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from leadflow_shared.contracts.lead import LeadProfile
from leadflow_shared.lead_read_model import lead_view, record_profiles, record_statuses

__all__ = [
    "email_of",
    "emails_of",
    "lead_view",
    "profile_of",
    "profiles_of",
    "record_profiles",
    "record_statuses",
]


async def profile_of(conn: asyncpg.Connection, lead_id: UUID) -> LeadProfile | None:
    """The lead's profile from the read model, if intake told us."""
    return (await profiles_of(conn, [lead_id])).get(lead_id)


async def profiles_of(conn: asyncpg.Connection, lead_ids: Sequence[UUID]) -> dict[UUID, LeadProfile]:
    """The profiles the read model holds for these leads; leads without one are left out."""
    rows = await conn.fetch("SELECT id, profile FROM leads WHERE id = ANY($1::uuid[])", list(lead_ids))
    return {row["id"]: LeadProfile.model_validate(row["profile"]) for row in rows if row["profile"]}


async def email_of(conn: asyncpg.Connection, lead_id: UUID) -> str | None:
    """The lead's email address, if its profile has one."""
    email: str | None = await conn.fetchval("SELECT profile->>'email' FROM leads WHERE id = $1", lead_id)
    return email


async def emails_of(conn: asyncpg.Connection, lead_ids: list[UUID]) -> list[str]:
    """The email addresses of those of these leads whose profile has one."""
    rows = await conn.fetch(
        "SELECT profile->>'email' AS email FROM leads"
        " WHERE id = ANY($1::uuid[]) AND profile->>'email' IS NOT NULL",
        lead_ids,
    )
    return [row["email"] for row in rows]
