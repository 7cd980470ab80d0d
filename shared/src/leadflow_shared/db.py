"""The asyncpg pool a service uses for its own schema."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import asyncpg
import orjson


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name,
            schema="pg_catalog",
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to undo: the services keep no session state (their locks and settings are per transaction)."""


async def create_pool(dsn: str, schema: str, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool whose connections see the service's schema first and speak JSON through orjson."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={"search_path": schema, "application_name": f"leadflow-{schema}"},
        command_timeout=60,
        # asyncpg still rolls back a transaction left open; its default reset costs a round trip per release.
        reset=_keep_session,
    )
    assert pool is not None
    return pool


# Errors that say the database or the network failed, not the message: retry, never dead-letter.
TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    ConnectionError,
    OSError,
    TimeoutError,
)


def columns(rows: Iterable[Sequence[Any]], width: int) -> list[list[Any]]:
    """The columns of rows of one width, for unnest() (`width` empty lists when there are no rows)."""
    result: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(result, row, strict=True):
            column.append(value)
    return result


def columns_by_key(
    rows: Iterable[Sequence[Any]], *, keep: Literal["last", "first"] = "last"
) -> list[list[Any]]:
    """The columns of rows keyed by their first value, one row per key (its last, or first), for unnest().

    One INSERT ... ON CONFLICT DO UPDATE may not touch a row twice: the row a key keeps is what applying
    the rows one by one leaves (the last for a plain upsert, the first where a row only fills what is unset).
    """
    kept: dict[Any, Sequence[Any]] = {}
    for row in rows:
        if keep == "last" or row[0] not in kept:
            kept[row[0]] = row
    return [list(column) for column in zip(*kept.values(), strict=True)]


async def execute_by_key(
    conn: asyncpg.Connection,
    query: str,
    rows: Iterable[Sequence[Any]],
    *,
    keep: Literal["last", "first"] = "last",
) -> None:
    """Run a query over unnest($1, $2, ...) of the rows' columns (see columns_by_key); nothing if no rows."""
    columns = columns_by_key(rows, keep=keep)
    if columns:
        await conn.execute(query, *columns)
