"""Each service's journeys-and-browsing migration goes back and forth: tables and sort indexes appear, go and
come back."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import asyncpg
import pytest
from alembic import command

from leadflow_devstack.postgres import provision_database
from leadflow_devstack.testing import new_test_stack
from leadflow_shared.migrations import alembic_config

pytestmark = pytest.mark.service

LAST = {"intake": "0012", "qualification": "0009", "opportunity": "0007", "nurture": "0009"}
# Sort indexes a later migration drops again: qualification's leads_by_creation twinned leads_created.
DROPPED_LATER = {"qualification": {"leads_by_creation"}}


async def relations(dsn: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = $1",
            schema,
        )
        return {row["relname"] for row in rows}
    finally:
        await conn.close()


@pytest.mark.parametrize("service", list(LAST))
def test_the_journeys_migration_adds_the_tables_and_sort_indexes_and_its_downgrade_removes_them(
    service: str,
) -> None:
    scripts = Path(str(importlib.import_module(f"leadflow_{service}.migrations").__file__)).parent
    step = importlib.import_module(
        next(
            f"leadflow_{service}.migrations.versions.{p.stem}"
            for p in (scripts / "versions").glob(f"{LAST[service]}_*.py")
        )
    )
    stack = new_test_stack("j")
    provision_database(stack.admin_dsn, stack.database, stack.passwords)
    dsn = stack.dsn(service)
    config = alembic_config(scripts, dsn, service)
    try:
        command.upgrade(config, LAST[service])
        upgraded = asyncio.run(relations(dsn, service))
        command.downgrade(config, step.down_revision)
        downgraded = asyncio.run(relations(dsn, service))
        command.upgrade(config, "head")
        again = asyncio.run(relations(dsn, service))
    finally:
        asyncio.run(stack.destroy())
    added = {"lead_journeys", "lead_timeline", "lead_timeline_by_lead", *step.SORT_INDEX_NAMES}
    assert added <= upgraded
    assert not added & downgraded
    # A later migration drops lead_journeys: a lead's journey is its first timeline fact's.
    dropped = {"lead_journeys", *DROPPED_LATER.get(service, set())}
    assert added - dropped <= again
    assert not dropped & again
    # And another drops the timeline's serial key: facts are ordered by time and event id.
    assert not {"lead_timeline_pkey", "lead_timeline_id_seq"} & again
