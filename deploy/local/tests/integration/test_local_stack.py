"""The running local stack (`leadflow-stack infra`): roles fenced into their schemas, idempotent topics."""

from __future__ import annotations

import asyncio
import os
import secrets

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from leadflow_devstack.env import load_env, role_passwords
from leadflow_devstack.postgres import provision_database
from leadflow_devstack.topics import create_topics, list_topics
from leadflow_shared.contracts.topics import topic_config

pytestmark = pytest.mark.skipif(
    "LEADFLOW_ADMIN_DATABASE_URL" not in os.environ,
    reason="needs the local stack: `make test`, or `leadflow-stack infra` and its `env --export`",
)


@pytest.fixture
def env() -> dict[str, str]:
    return {**load_env(), **os.environ}


async def test_each_service_role_sees_and_writes_only_its_own_schema(env):
    conn = await asyncpg.connect(env["INTAKE_DATABASE_URL"])
    try:
        assert await conn.fetchval("SHOW search_path") == "intake"
        await conn.execute("CREATE TABLE IF NOT EXISTS devstack_probe (lead_id text PRIMARY KEY)")
        await conn.execute("DROP TABLE devstack_probe")
        visible = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE has_schema_privilege(nspname, 'USAGE')"
            " AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"
        )
        assert [r["nspname"] for r in visible] == ["intake"]
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE qualification.stolen_leads (lead_id text)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.stray_leads (lead_id text)")
    finally:
        await conn.close()


async def test_every_service_role_can_log_in_to_the_leadflow_database(env):
    for name in ("INTAKE", "QUALIFICATION", "OPPORTUNITY", "NURTURE"):
        conn = await asyncpg.connect(env[f"{name}_DATABASE_URL"])
        try:
            assert await conn.fetchval("SELECT current_schema()") == name.lower()
        finally:
            await conn.close()


@pytest.mark.parametrize("database", ["postgres", "template1"])
async def test_no_service_role_can_connect_to_the_clusters_own_databases(env, database):
    for name in ("INTAKE", "QUALIFICATION", "OPPORTUNITY", "NURTURE"):
        url = env[f"{name}_DATABASE_URL"].replace("/leadflow?", f"/{database}?")
        assert f"/{database}?" in url
        with pytest.raises(
            asyncpg.InsufficientPrivilegeError, match=f'permission denied for database "?{database}'
        ):
            await asyncpg.connect(url)


async def test_the_admin_role_still_connects_to_postgres_to_create_the_stacks_databases(env):
    conn = await asyncpg.connect(env["LEADFLOW_ADMIN_DATABASE_URL"])
    try:
        assert await conn.fetchval("SELECT current_database()") == "postgres"
        assert not await conn.fetchval("SELECT has_database_privilege('intake', 'postgres', 'CONNECT')")
    finally:
        await conn.close()


def test_provisioning_a_database_twice_changes_nothing_and_fences_it_off(env):
    dbname = f"devstack_probe_{secrets.token_hex(4)}"
    admin = env["LEADFLOW_ADMIN_DATABASE_URL"]
    try:
        provision_database(admin, dbname, role_passwords(env))
        provision_database(admin, dbname, role_passwords(env))
        owners = asyncio.run(_schema_owners(env["NURTURE_DATABASE_URL"].rsplit("/", 1)[0] + "/" + dbname))
        assert owners == {
            "intake": "intake",
            "nurture": "nurture",
            "opportunity": "opportunity",
            "qualification": "qualification",
        }
    finally:
        asyncio.run(_drop_database(admin, dbname))


async def _schema_owners(dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT n.nspname, r.rolname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner"
            " WHERE n.nspname IN ('intake', 'qualification', 'opportunity', 'nurture')"
        )
        return {r["nspname"]: r["rolname"] for r in rows}
    finally:
        await conn.close()


async def _drop_database(admin_dsn: str, dbname: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    finally:
        await conn.close()


def test_the_system_topics_exist_with_their_dead_letter_topics(env):
    names = set(list_topics(env["KAFKA_BOOTSTRAP_SERVERS"]))

    assert {"leads.submitted", "intake.events", "nurture.events", "qualification.events.dlq"} <= names


def test_creating_topics_twice_creates_them_once_with_six_partitions(env):
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    prefix = f"devstack-probe-{secrets.token_hex(3)}."
    wanted = [prefix + "leads.submitted", prefix + "leads.submitted.dlq"]
    try:
        assert sorted(create_topics(bootstrap, wanted)) == sorted(wanted)
        assert create_topics(bootstrap, wanted) == []
        assert asyncio.run(_partition_counts(bootstrap, wanted)) == {name: 6 for name in wanted}
    finally:
        asyncio.run(_delete_topics(bootstrap, wanted))


def test_created_topics_keep_personal_data_seven_days_and_existing_ones_get_the_same(env):
    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    prefix = f"devstack-probe-{secrets.token_hex(3)}."
    created, older = prefix + "intake.events", prefix + "nurture.events"
    try:
        asyncio.run(_create_plain(bootstrap, older))
        create_topics(bootstrap, [created, older])
        wanted = {name: topic_config(name) for name in (created, older)}
        assert asyncio.run(_retention_once_settled(bootstrap, wanted)) == wanted
    finally:
        asyncio.run(_delete_topics(bootstrap, [created, older]))


async def _create_plain(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name=name, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def _retention(bootstrap: str, names: list[str]) -> dict[str, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        wanted = ["retention.ms", "segment.ms"]
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, dict.fromkeys(wanted)) for name in names]
        )
        # Each resource: (error code, message, type, name, [(key, value, read only, default, sensitive)...]).
        return {r[3]: {c[0]: c[1] for c in r[4] if c[0] in wanted} for r in response.resources}
    finally:
        await admin.close()


async def _retention_once_settled(
    bootstrap: str, wanted: dict[str, dict[str, str]]
) -> dict[str, dict[str, str]]:
    """The topics' retention once it matches, or as it is after 15 s: a broker applies a change it
    acknowledged from the controller's log a moment later."""
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        configs = await _retention(bootstrap, list(wanted))
        if configs == wanted or asyncio.get_running_loop().time() > deadline:
            return configs
        await asyncio.sleep(0.2)


async def _partition_counts(bootstrap: str, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
        return {t["topic"]: len(t["partitions"]) for t in described}
    finally:
        await admin.close()


async def _delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()
