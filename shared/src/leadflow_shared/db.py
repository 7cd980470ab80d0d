"""The asyncpg pool a service uses for its own schema."""

from __future__ import annotations

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


async def create_pool(dsn: str, schema: str, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool whose connections see the service's schema first and speak JSON through orjson."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={"search_path": schema, "application_name": f"leadflow-{schema}"},
        command_timeout=60,
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
