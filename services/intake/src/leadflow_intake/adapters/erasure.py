"""SQL of erasure in the intake schema: who the person is, their requests, and the rows that name them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from leadflow_shared.erasure import (
    ERASED,
    escaped,
    like_any,
    pseudonymise_profile,
    redact,
    redact_bytes,
    redact_columns,
    redact_text,
)

Conn: TypeAlias = asyncpg.Connection

# Every lead linked to the starting ones by merges, either way, until nothing new joins.
_LINKED = """
WITH RECURSIVE person(id) AS (
    SELECT unnest($1::uuid[])
    UNION
    SELECT l.id FROM leads l JOIN person p ON l.merged_into = p.id OR l.id = (
        SELECT merged_into FROM leads WHERE id = p.id)
)
SELECT id FROM person ORDER BY id
"""


async def lead_exists(conn: Conn, lead_id: UUID) -> bool:
    """Whether intake has a lead with this id."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM leads WHERE id = $1)", lead_id))


async def email_of(conn: Conn, lead_id: UUID) -> str | None:
    """The email of the lead a lead was merged into, else its own."""
    found: str | None = await conn.fetchval(
        "SELECT coalesce(s.email, l.email) FROM leads l LEFT JOIN leads s ON s.id = l.merged_into"
        " WHERE l.id = $1",
        lead_id,
    )
    return found


async def person_leads(conn: Conn, email: str | None, lead_id: UUID | None) -> list[UUID]:
    """Every lead of the person: those with the email (as address or identity key), the lead named, and
    every lead merged into or from them."""
    start: set[UUID] = {lead_id} if lead_id is not None else set()
    if email:
        rows = await conn.fetch(
            "SELECT id FROM leads WHERE email = $1"
            " UNION SELECT lead_id FROM identity_keys WHERE kind = 'email' AND value = $1",
            email,
        )
        start.update(r["id"] for r in rows)
    if not start:
        return []
    rows = await conn.fetch(_LINKED, sorted(start))
    return [r["id"] for r in rows]


async def emails_of(conn: Conn, lead_ids: Sequence[UUID]) -> set[str]:
    """Every email address these leads hold (as their address or an identity key)."""
    rows = await conn.fetch(
        "SELECT lower(email) AS email FROM leads WHERE id = ANY($1::uuid[]) AND email IS NOT NULL"
        " UNION SELECT value FROM identity_keys WHERE kind = 'email' AND lead_id = ANY($1::uuid[])",
        list(lead_ids),
    )
    return {r["email"] for r in rows}


async def earlier_request(conn: Conn, email_hashes: Sequence[str], lead_ids: Sequence[UUID]) -> UUID | None:
    """The first request that named the same person (by an email's hash or any lead)."""
    found: UUID | None = await conn.fetchval(
        "SELECT id FROM erasure_requests WHERE email_hashes && $1::text[] OR lead_ids && $2::uuid[]"
        " ORDER BY requested_at LIMIT 1",
        list(email_hashes),
        list(lead_ids),
    )
    return found


async def anything_left(conn: Conn, lead_ids: Sequence[UUID]) -> bool:
    """Whether any of these leads still holds an email, phone or name."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM leads WHERE id = ANY($1::uuid[]) AND (email IS NOT NULL"
            " OR phone IS NOT NULL OR profile->>'first_name' IS NOT NULL"
            " OR profile->>'last_name' IS NOT NULL))",
            list(lead_ids),
        )
    )


async def insert_request(
    conn: Conn, request_id: UUID, email_hashes: Sequence[str], lead_ids: Sequence[UUID], origin: str
) -> None:
    """Record an erasure request."""
    await conn.execute(
        "INSERT INTO erasure_requests (id, email_hashes, lead_ids, origin) VALUES ($1, $2, $3, $4)",
        request_id,
        list(email_hashes),
        list(lead_ids),
        origin,
    )


async def confirm(conn: Conn, request_id: UUID, service: str) -> None:
    """Record that a service erased its part; a repeat keeps the first time."""
    await conn.execute(
        "INSERT INTO erasure_confirmations (request_id, service) SELECT $1, $2"
        " WHERE EXISTS (SELECT 1 FROM erasure_requests WHERE id = $1) ON CONFLICT DO NOTHING",
        request_id,
        service,
    )


async def request(conn: Conn, request_id: UUID) -> asyncpg.Record | None:
    """An erasure request."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, lead_ids, origin, requested_at FROM erasure_requests WHERE id = $1", request_id
    )
    return row


async def confirmations(conn: Conn, request_id: UUID) -> dict[str, datetime]:
    """When each service that confirmed did so."""
    rows = await conn.fetch(
        "SELECT service, done_at FROM erasure_confirmations WHERE request_id = $1", request_id
    )
    return {r["service"]: r["done_at"] for r in rows}


async def profiles(conn: Conn, lead_ids: Sequence[UUID]) -> list[dict[str, Any]]:
    """The stored profiles (and raw email and phone columns) of these leads."""
    rows = await conn.fetch(
        "SELECT email, phone, profile FROM leads WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        list(lead_ids),
    )
    return [r["profile"] or {} for r in rows] + [{"email": r["email"], "phone": r["phone"]} for r in rows]


async def erase_profiles(conn: Conn, lead_ids: Sequence[UUID]) -> None:
    """Empty what names the person in the leads and drop their email and phone keys; rows and times stay."""
    rows = await conn.fetch("SELECT id, profile FROM leads WHERE id = ANY($1::uuid[])", list(lead_ids))
    await conn.execute(
        "UPDATE leads l SET email = NULL, phone = NULL, name_key = NULL, profile = c.profile,"
        " updated_at = now() FROM unnest($1::uuid[], $2::jsonb[]) AS c(id, profile) WHERE l.id = c.id",
        [r["id"] for r in rows],
        [pseudonymise_profile(r["profile"]) for r in rows],
    )
    await conn.execute(
        "DELETE FROM identity_keys WHERE lead_id = ANY($1::uuid[]) AND kind IN ('email', 'phone')",
        list(lead_ids),
    )


async def erase_quarantine(conn: Conn, identifiers: Iterable[str]) -> None:
    """Pseudonymise the quarantined submissions that name the person; the rejection counts stay."""
    names = sorted(identifiers)
    if not names:
        return
    rows = await conn.fetch(
        "SELECT id, reason, problems, payload FROM rejections"
        " WHERE lower(payload::text) LIKE ANY($1::text[]) OR lower(problems::text) LIKE ANY($1::text[])"
        " OR lower(reason) LIKE ANY($1::text[]) FOR UPDATE",
        like_any(names),
    )
    for row in rows:
        await conn.execute(
            "UPDATE rejections SET reason = $2, problems = $3, payload = $4 WHERE id = $1",
            row["id"],
            redact_text(row["reason"], names),
            redact(row["problems"], names),
            redact(row["payload"], names),
        )


async def erase_imports(conn: Conn, identifiers: Iterable[str]) -> None:
    """Blank the person's lines in uploaded CSV files and their import errors; row counts stay."""
    names = sorted(identifiers)
    if not names:
        return
    rows = await conn.fetch(
        "SELECT id, content FROM imports WHERE content IS NOT NULL AND status NOT IN ('pending', 'running')"
        " AND lower(encode(content, 'escape')) LIKE ANY($1::text[])",
        like_any(escaped(name) for name in names),
    )
    for row in rows:
        # Replaced as bytes: the file keeps its own encoding (often cp1252) everywhere else.
        await conn.execute(
            "UPDATE imports SET content = $2 WHERE id = $1", row["id"], redact_bytes(row["content"], names)
        )
    await redact_columns(conn, "import_errors", ("message",), names)
    await redact_columns(conn, "imports", ("error", "filename"), names)


async def erase_notes(conn: Conn, lead_ids: Sequence[UUID], identifiers: Iterable[str]) -> None:
    """Free text beside the leads: consent reasons and duplicate reasons."""
    await conn.execute(
        f"UPDATE consent_changes SET reason = '{ERASED}' WHERE lead_id = ANY($1::uuid[])", list(lead_ids)
    )
    names = sorted(identifiers)
    await redact_columns(conn, "duplicates", ("reason",), names)


async def erase_records(conn: Conn, lead_ids: Sequence[UUID], email_keys: Iterable[str]) -> None:
    """What corrections, merges and kept consent changes hold of the person."""
    ids = list(lead_ids)
    # Field names and times stay (who corrected what, when); the values before and after go.
    await conn.execute(
        "UPDATE corrections SET reason = $2, changes = COALESCE("
        "(SELECT jsonb_object_agg(k, jsonb_build_object('from', $2::text, 'to', $2::text))"
        " FROM jsonb_object_keys(changes) AS k), '{}'::jsonb) WHERE lead_id = ANY($1::uuid[])",
        ids,
        ERASED,
    )
    # A merge record keeps the ids it moved; the keys and profile values it would give back go, so an
    # unmerge after an erasure restores no personal data.
    await conn.execute(
        "UPDATE merges SET identity_keys = '[]'::jsonb, survivor_changes = '{}'::jsonb"
        " WHERE survivor_id = ANY($1::uuid[]) OR merged_id = ANY($1::uuid[])",
        ids,
    )
    await conn.execute(
        "DELETE FROM pending_consent WHERE email_key = ANY($1::text[])", sorted(set(email_keys))
    )
