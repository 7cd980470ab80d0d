"""SQL of the suppression list: email hashes nurture never mails, with why and since when."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import asyncpg

from leadflow_shared.privacy import email_hash


async def suppress(conn: asyncpg.Connection, entries: Sequence[tuple[str, str, str]]) -> None:
    """List (email, reason, source) entries by the address's hash; a listed address keeps its entry."""
    if not entries:
        return
    await conn.execute(
        "INSERT INTO suppressions (email_hash, reason, source)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT (email_hash) DO NOTHING",
        [email_hash(email) for email, _, _ in entries],
        [reason for _, reason, _ in entries],
        [source for _, _, source in entries],
    )


async def lift(conn: asyncpg.Connection, email: str, reason: str) -> None:
    """Remove an address's entry if it was listed for this reason (a bounce is never lifted this way)."""
    await conn.execute(
        "DELETE FROM suppressions WHERE email_hash = $1 AND reason = $2", email_hash(email), reason
    )


async def suppressed(conn: asyncpg.Connection, emails: Iterable[str]) -> set[str]:
    """The hashes of these addresses that the list holds."""
    hashes = list({email_hash(email) for email in emails})
    if not hashes:
        return set()
    rows = await conn.fetch("SELECT email_hash FROM suppressions WHERE email_hash = ANY($1::text[])", hashes)
    return {row["email_hash"] for row in rows}


async def entry(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    """The list's entry for an address, if any."""
    return await conn.fetchrow(
        "SELECT reason, source, suppressed_at FROM suppressions WHERE email_hash = $1", email_hash(email)
    )
