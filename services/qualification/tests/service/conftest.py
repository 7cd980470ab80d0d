"""Service-test fixtures: qualification's pool and units of work on the session database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio

from leadflow_devstack.testing import TestStack
from leadflow_qualification.use_cases import config as cfg
from leadflow_shared.db import create_pool
from leadflow_shared.uow import UnitOfWork, UnitOfWorkFactory


@pytest_asyncio.fixture(scope="module")
async def pool(service_stack: TestStack) -> AsyncIterator[asyncpg.Pool]:
    """Qualification's own pool."""
    pool = await create_pool(service_stack.dsn("qualification"), "qualification")
    yield pool
    await asyncio.wait_for(pool.close(), 10)


@pytest_asyncio.fixture(scope="module")
async def uows(pool: asyncpg.Pool, service_stack: TestStack) -> UnitOfWorkFactory:
    """Units of work of qualification on the module's pool."""
    return UnitOfWorkFactory(pool, "qualification", service_stack.topic_prefix)


async def current(uow: UnitOfWork) -> cfg.Config:
    """The configuration in force, loaded as a consumer loads it for a batch."""
    return await cfg.ConfigStore().load(uow.conn)
