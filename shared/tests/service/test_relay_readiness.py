"""Readiness and metrics of a running service whose outbox relay makes no progress."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from leadflow_devstack.testing import ServiceProcess, TestStack, wait_until
from leadflow_shared.outbox import OutboxRelay

pytestmark = pytest.mark.service


@pytest.fixture
def intake_process(service_stack: TestStack) -> Iterator[ServiceProcess]:
    process = ServiceProcess(service_stack, "intake", {"INTAKE_RELAY_STALL_SECONDS": "1"}).start()
    try:
        yield process
    finally:
        process.stop()


async def test_readiness_turns_503_while_rows_wait_on_a_stuck_relay_and_200_once_it_moves(
    intake_process: ServiceProcess, service_stack: TestStack
) -> None:
    dsn = service_stack.dsn("intake")
    holder = await asyncpg.connect(dsn, server_settings={"search_path": "intake"})
    writer = await asyncpg.connect(dsn, server_settings={"search_path": "intake"})
    lock_key = OutboxRelay(None, None, "intake").lock_key
    client = httpx.AsyncClient(base_url=intake_process.url, timeout=5.0)

    async def ready_when(status: int) -> dict[str, bool] | None:
        response = await client.get("/health/ready")
        checks: dict[str, bool] = response.json()["checks"]
        return checks if response.status_code == status else None

    try:
        await writer.execute("DELETE FROM outbox")
        await wait_until(lambda: ready_when(200), within=10.0, every=0.1)
        stuck = holder.transaction()
        await stuck.start()
        # Another replica's relay holds the lock and hangs in its round: nothing gets published.
        await holder.execute(
            "SELECT pg_advisory_xact_lock($1::int4, $2::int4)", OutboxRelay.LOCK_CLASS, lock_key
        )
        row_id = await writer.fetchval(
            "INSERT INTO outbox (topic, key, payload) VALUES ($1, 'lead-dana', 'waiting') RETURNING id",
            service_stack.topic_prefix + "intake.events",
        )

        checks = await wait_until(lambda: ready_when(503), within=10.0, every=0.1)
        metrics = (await client.get("/metrics")).text
        await stuck.rollback()
        await wait_until(lambda: ready_when(200), within=10.0, every=0.1)
        published = await writer.fetchval("SELECT published_at IS NOT NULL FROM outbox WHERE id = $1", row_id)
    finally:
        await client.aclose()
        await writer.execute("DELETE FROM outbox")
        await holder.close()
        await writer.close()

    assert checks == {"database": True, "kafka": True, "consumers": True, "relay": False}
    [oldest] = [
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith('leadflow_outbox_oldest_unpublished_seconds{service="intake"}')
    ]
    assert oldest > 1.0
    assert published
