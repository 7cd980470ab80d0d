"""Pytest fixtures for service and end-to-end tests on the real Kafka and Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from leadflow_devstack.testing import SERVICES, ServiceProcess, TestStack, new_test_stack


@pytest_asyncio.fixture(scope="session")
async def test_stack() -> AsyncIterator[TestStack]:
    """One isolated database and topic prefix for the session, every schema migrated."""
    stack = new_test_stack("t")
    await stack.create()
    yield stack
    await stack.destroy()


@pytest.fixture(scope="session")
def running_services(test_stack: TestStack) -> Iterator[dict[str, ServiceProcess]]:
    """The four services as separate processes on the session's stack."""
    processes = {name: ServiceProcess(test_stack, name) for name in SERVICES}
    try:
        for process in processes.values():
            process.start(wait=False)
        for process in processes.values():
            process.wait_ready()
        yield processes
    finally:
        for process in processes.values():
            process.stop()
