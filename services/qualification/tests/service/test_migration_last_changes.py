"""Migration 0006 on a schema that has funnel cells already: the built days get their hours of last change,
the index is swapped, and the downgrade gives migration 0005's schema back."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from alembic import command

import leadflow_qualification.migrations as migrations
from leadflow_devstack.postgres import provision_database
from leadflow_devstack.testing import new_test_stack
from leadflow_shared.migrations import alembic_config

SCRIPTS = Path(migrations.__file__).parent
DAY0 = datetime(2026, 3, 2, tzinfo=UTC)
STEPS = (("new", "open"), ("contacted", "contacted"), ("qualified", "qualified"))


async def add_leads_and_build_their_days(dsn: str) -> None:
    """Leads on three days with a history each; their days built by migration 0005's job function."""
    conn = await asyncpg.connect(dsn)
    try:
        leads = [(uuid.uuid4(), DAY0 + timedelta(hours=7 * n)) for n in range(10)]
        await conn.executemany(
            "INSERT INTO leads (id, status, category, profile, created_at)"
            " VALUES ($1, 'new', 'open', '{}', $2)",
            leads,
        )
        await conn.executemany(
            "INSERT INTO status_history (lead_id, to_status, category, reason, actor, at)"
            " VALUES ($1, $2, $3, 'journey', 'test', $4)",
            [
                (lead_id, status, category, created + timedelta(hours=5 * step + n))
                for n, (lead_id, created) in enumerate(leads)
                for step, (status, category) in enumerate(STEPS[: 1 + n % 3])
            ],
        )
        await conn.execute(
            "SELECT funnel_build_days(ARRAY(SELECT DISTINCT funnel_day(created_at) FROM funnel_leads))"
        )
    finally:
        await conn.close()


async def schema_state(dsn: str) -> dict[str, object]:
    conn = await asyncpg.connect(dsn)
    try:
        tables = {r["relname"] for r in await conn.fetch("SELECT relname FROM pg_class WHERE relkind = 'r'")}
        indexes = {
            r["relname"]: r["indisvalid"]
            for r in await conn.fetch(
                "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " WHERE c.relname LIKE 'funnel_leads_%'"
            )
        }
        state: dict[str, object] = {"has_table": "funnel_last_changes" in tables, "indexes": indexes}
        if state["has_table"]:
            state["rows"] = [
                tuple(r) for r in await conn.fetch("SELECT * FROM funnel_last_changes ORDER BY 1, 2, 3")
            ]
            state["expected"] = [
                tuple(r)
                for r in await conn.fetch(
                    "SELECT * FROM funnel_last_changes_of(ARRAY(SELECT node FROM funnel_nodes WHERE lvl = 0))"
                    " ORDER BY 1, 2, 3"
                )
            ]
        return state
    finally:
        await conn.close()


def test_the_migration_fills_the_built_days_and_goes_back_and_forth() -> None:
    stack = new_test_stack("m")
    provision_database(stack.admin_dsn, stack.database, stack.passwords)
    dsn = stack.dsn("qualification")
    config = alembic_config(SCRIPTS, dsn, "qualification")
    try:
        command.upgrade(config, "0005")
        asyncio.run(add_leads_and_build_their_days(dsn))

        command.upgrade(config, "0006")
        upgraded = asyncio.run(schema_state(dsn))
        command.downgrade(config, "0005")
        downgraded = asyncio.run(schema_state(dsn))
        command.upgrade(config, "head")
        again = asyncio.run(schema_state(dsn))
    finally:
        asyncio.run(stack.destroy())

    assert upgraded["rows"]
    assert upgraded["rows"] == upgraded["expected"]
    assert upgraded["indexes"] == {
        "funnel_leads_pkey": True,
        "funnel_leads_created": True,
        "funnel_leads_recent": True,
    }
    assert downgraded == {
        "has_table": False,
        "indexes": {"funnel_leads_pkey": True, "funnel_leads_created": True, "funnel_leads_last": True},
    }
    assert again == upgraded
