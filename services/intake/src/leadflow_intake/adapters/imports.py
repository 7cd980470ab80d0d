"""SQL for CSV imports: the stored upload, its lease and progress, and the errors of its rows."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from leadflow_shared.contracts.lead import Campaign, Channel


async def insert_import(
    conn: asyncpg.Connection,
    import_id: UUID,
    filename: str,
    content: bytes,
    channel: Channel,
    campaign: Campaign,
) -> None:
    """Store an upload as a pending import."""
    await conn.execute(
        "INSERT INTO imports (id, filename, content, channel, campaign) VALUES ($1, $2, $3, $4, $5)",
        import_id,
        filename,
        content,
        channel.value,
        campaign.model_dump(mode="json", exclude_none=True),
    )


async def lease_next(conn: asyncpg.Connection, lease_seconds: int) -> UUID | None:
    """Mark the oldest pending import, or one whose lease ran out, running; its id, if any."""
    claimed: UUID | None = await conn.fetchval(
        """
        UPDATE imports SET status = 'running', updated_at = now()
        WHERE id = (
            SELECT id FROM imports
            WHERE status = 'pending'
               OR (status = 'running' AND updated_at < now() - make_interval(secs => $1))
            ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id
        """,
        lease_seconds,
    )
    return claimed


async def upload_of(conn: asyncpg.Connection, import_id: UUID) -> asyncpg.Record | None:
    """An import's upload, channel, campaign and how many rows are done."""
    return await conn.fetchrow(
        "SELECT content, channel, campaign, rows_done FROM imports WHERE id = $1", import_id
    )


async def fail_import(conn: asyncpg.Connection, import_id: UUID, error: str) -> None:
    """Mark an import failed as a whole, with why."""
    await conn.execute(
        "UPDATE imports SET status = 'failed', error = $2, rows_total = 0, updated_at = now() WHERE id = $1",
        import_id,
        error,
    )


async def set_total(conn: asyncpg.Connection, import_id: UUID, total: int) -> None:
    """Record how many rows an import has."""
    await conn.execute("UPDATE imports SET rows_total = $2 WHERE id = $1", import_id, total)


async def lock_rows_done(conn: asyncpg.Connection, import_id: UUID) -> int | None:
    """How many rows of an import are done, its row locked."""
    done: int | None = await conn.fetchval(
        "SELECT rows_done FROM imports WHERE id = $1 FOR UPDATE", import_id
    )
    return done


async def add_errors(conn: asyncpg.Connection, import_id: UUID, errors: list[tuple[int, str]]) -> None:
    """Keep the (row number, message) errors of an import's rows; a row's first error stays."""
    await conn.executemany(
        "INSERT INTO import_errors (import_id, row_number, message) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        [(import_id, n, m) for n, m in errors],
    )


async def record_progress(
    conn: asyncpg.Connection, import_id: UUID, done: int, submitted: int, failed: int
) -> None:
    """Record rows done and add to the counts of leads submitted and rows failed."""
    await conn.execute(
        "UPDATE imports SET rows_done = $2, leads_submitted = leads_submitted + $3,"
        " rows_failed = rows_failed + $4, updated_at = now() WHERE id = $1",
        import_id,
        done,
        submitted,
        failed,
    )


async def complete_import(conn: asyncpg.Connection, import_id: UUID) -> None:
    """Mark an import completed and drop its upload."""
    await conn.execute(
        "UPDATE imports SET status = 'completed', content = NULL, updated_at = now() WHERE id = $1",
        import_id,
    )


async def import_row(conn: asyncpg.Connection, import_id: UUID) -> asyncpg.Record | None:
    """An import's name, settings, status and counts."""
    return await conn.fetchrow(
        "SELECT id, filename, channel, campaign, status, rows_total, rows_done, leads_submitted, rows_failed,"
        " error, created_at, updated_at FROM imports WHERE id = $1",
        import_id,
    )


async def leads_captured(conn: asyncpg.Connection, import_id: UUID) -> int:
    """How many touches an import's rows made."""
    captured: int = await conn.fetchval(
        "SELECT count(*) FROM touches WHERE source_system = 'csv' AND split_part(source_id, ':', 1) = $1",
        str(import_id),
    )
    return captured


async def errors_of(
    conn: asyncpg.Connection, import_id: UUID, after: int, limit: int
) -> list[asyncpg.Record]:
    """An import's row errors after a row number, in row order, at most limit of them."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT row_number, message FROM import_errors WHERE import_id = $1 AND row_number > $2"
        " ORDER BY row_number LIMIT $3",
        import_id,
        after,
        limit,
    )
    return rows
