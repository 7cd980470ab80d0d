"""Nothing lost, nothing duplicated when the infrastructure fails under a running pipeline.

design.md: restarting Kafka or Postgres loses nothing and duplicates nothing. The broker is this
checkout's own (the local stack's), stopped and started again; the database is shared with the rest of
the test session, so its restart is played for this run's database alone: every session of it is
terminated, as a restart does, and so is every new one for a few seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio

from leadflow_devstack import kafka
from leadflow_devstack.paths import default_paths
from leadflow_devstack.testing import (
    SERVICES,
    Db,
    ServiceProcess,
    TestStack,
    new_test_stack,
    produce,
    services_running,
    submission_stream,
    wait_until,
)
from leadflow_shared.contracts import topics

pytestmark = pytest.mark.e2e

TOTAL = 600


@pytest_asyncio.fixture
async def fault_stack() -> AsyncIterator[TestStack]:
    stack = new_test_stack("f")
    await stack.create()
    yield stack
    await stack.destroy()


async def count(db: Db, table: str) -> int:
    return int(await db.fetchval(f"SELECT count(*) FROM {table}"))


async def at_least(db: Db, table: str, n: int) -> bool:
    return await count(db, table) >= n


async def assert_every_lead_once_everywhere(stack: TestStack, processes: dict[str, ServiceProcess]) -> None:
    for service in SERVICES:
        db = Db(stack, service)
        await wait_until(lambda db=db: at_least(db, "leads", TOTAL), within=180)
    # Long enough for a redelivery after the fault to show up as a duplicate, were there one.
    await asyncio.sleep(2)
    intake, qualification = Db(stack, "intake"), Db(stack, "qualification")
    assert await count(intake, "leads") == TOTAL
    assert await count(intake, "touches") == TOTAL
    assert await count(qualification, "leads") == TOTAL
    assert await count(qualification, "status_history") == TOTAL
    for service in ("opportunity", "nurture"):
        assert await count(Db(stack, service), "leads") == TOTAL
    for service in SERVICES:
        assert await count(Db(stack, service), "outbox WHERE published_at IS NULL") == 0
    async with httpx.AsyncClient(timeout=5) as client:
        for name, process in processes.items():
            assert process.process is not None, name
            assert process.process.poll() is None, f"{name} exited"
            assert (await client.get(process.url + "/health/ready")).status_code == 200, name


async def test_a_kafka_broker_restart_mid_stream_loses_and_duplicates_nothing(fault_stack: TestStack) -> None:
    paths = default_paths()
    assert kafka.running_pid(paths) is not None, "the broker is not this checkout's: run `make infra` here"
    messages = submission_stream(TOTAL, "Dorothy", "Vaughan")
    with services_running(fault_stack) as processes:
        await produce(fault_stack, topics.LEADS_SUBMITTED, messages[: TOTAL // 2])
        await wait_until(lambda: at_least(Db(fault_stack, "qualification"), "leads", 50), within=60)

        assert await asyncio.to_thread(kafka.stop, paths)
        await asyncio.sleep(3)
        await asyncio.to_thread(kafka.start, paths)
        await asyncio.to_thread(kafka.wait_ready, paths)

        await produce(fault_stack, topics.LEADS_SUBMITTED, messages[TOTAL // 2 :])
        await assert_every_lead_once_everywhere(fault_stack, processes)


async def test_a_database_restart_mid_stream_loses_and_duplicates_nothing(fault_stack: TestStack) -> None:
    messages = submission_stream(TOTAL, "Dorothy", "Vaughan")
    with services_running(fault_stack) as processes:
        await produce(fault_stack, topics.LEADS_SUBMITTED, messages[: TOTAL // 2])
        await wait_until(lambda: at_least(Db(fault_stack, "qualification"), "leads", 50), within=60)

        admin = await asyncpg.connect(fault_stack.admin_dsn)
        try:
            terminated = 0
            until = time.monotonic() + 4.0
            while time.monotonic() < until:
                terminated += await admin.fetchval(
                    # The services' sessions: an autovacuum worker is not the admin role's to end.
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = $1 AND usename = ANY($2::text[])) AS t",
                    fault_stack.database,
                    list(SERVICES),
                )
                await asyncio.sleep(0.1)
        finally:
            await admin.close()
        # Every service had sessions open (pool, consumers, relay), and they came back for more.
        assert terminated > len(SERVICES)

        await produce(fault_stack, topics.LEADS_SUBMITTED, messages[TOTAL // 2 :])
        await assert_every_lead_once_everywhere(fault_stack, processes)
