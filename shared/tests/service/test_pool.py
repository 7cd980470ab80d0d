"""The services' connection pool on a real PostgreSQL: releasing a connection costs no round trip."""

from __future__ import annotations

from typing import Any

from leadflow_devstack.testing import TestStack
from leadflow_shared.db import create_pool


async def test_a_released_connection_goes_back_without_a_reset_statement(service_stack: TestStack) -> None:
    pool = await create_pool(service_stack.dsn("intake"), "intake", min_size=1, max_size=1)
    statements: list[str] = []

    def record(query: Any) -> None:
        statements.append(query.query)

    try:
        async with pool.acquire() as conn:
            conn.add_query_logger(record)
            await conn.fetchval("SELECT 1")
        async with pool.acquire() as conn:
            conn.remove_query_logger(record)
            assert await conn.fetchval("SHOW search_path") == "intake"
        assert statements == ["SELECT 1"]
    finally:
        await pool.close()


async def test_a_transaction_left_open_is_rolled_back_when_the_connection_is_released(
    service_stack: TestStack,
) -> None:
    pool = await create_pool(service_stack.dsn("intake"), "intake", min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute(
                "INSERT INTO outbox (topic, key, payload) VALUES ('pool.left-open', NULL, 'x')"
            )
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE topic = 'pool.left-open'") == 0
    finally:
        await pool.close()
