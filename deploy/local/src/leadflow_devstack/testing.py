"""Test harness: an isolated database and topic prefix per run, and the services as real processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter

from leadflow_devstack import console, procs
from leadflow_devstack.env import INTAKE_WEBHOOK_SECRETS, load_env, role_passwords
from leadflow_devstack.paths import repo_root
from leadflow_devstack.postgres import _with_database, provision_database_async
from leadflow_devstack.topics import create_topics_async
from leadflow_shared.contracts.envelope import encode, new_event
from leadflow_shared.contracts.events import LeadSubmitted
from leadflow_shared.contracts.lead import LeadSubmission
from leadflow_shared.contracts.topics import all_topics
from leadflow_shared.http import create_app
from leadflow_shared.runtime import Runtime, ServiceDefinition
from leadflow_shared.settings import ServiceSettings
from leadflow_shared.timeline import timeline_router
from leadflow_shared.uow import UnitOfWorkFactory

T = TypeVar("T")

SERVICES = ("intake", "qualification", "opportunity", "nurture")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env() -> dict[str, str]:
    """The stack's environment: the variables already set win over `.leadflow/env`."""
    env = {}
    with contextlib.suppress(FileNotFoundError):
        env.update(load_env())
    # The service URLs carry the roles' passwords: a checkout without `.leadflow/env` that made up new ones
    # would change the passwords under every other checkout using the same server.
    keys = (
        "KAFKA_BOOTSTRAP_SERVERS",
        "LEADFLOW_ADMIN_DATABASE_URL",
        *(f"{s.upper()}_DATABASE_URL" for s in SERVICES),
    )
    for key in keys:
        if key in os.environ:
            env[key] = os.environ[key]
    missing = [k for k in ("KAFKA_BOOTSTRAP_SERVERS", "LEADFLOW_ADMIN_DATABASE_URL") if k not in env]
    if missing:
        raise RuntimeError(f"no test stack: {', '.join(missing)} unset; run `make infra` first")
    return env


TEST_LOGS = repo_root() / ".leadflow" / "logs" / "tests"


@dataclass
class TestStack:
    """One isolated system: its own database, topic prefix and tokens, on the shared Kafka and Postgres."""

    __test__ = False

    name: str
    bootstrap: str
    admin_dsn: str
    passwords: dict[str, str]
    tokens: dict[str, str]
    partitions: int = 3
    # Every intake webhook source gets this one secret (keys, app secrets, signing secrets alike).
    webhook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    # Signs nurture's one-click unsubscribe links.
    unsubscribe_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    logs: Path = field(default_factory=lambda: TEST_LOGS)
    # Seconds each service's `migrate` command took in create(), from an empty schema to head.
    migrate_s: dict[str, float] = field(default_factory=dict)

    @property
    def database(self) -> str:
        """The run's database."""
        return f"leadflow_{self.name}"

    @property
    def topic_prefix(self) -> str:
        """The run's topic prefix."""
        return f"{self.name}."

    def dsn(self, service: str) -> str:
        """The connection URL of a service's own role in the run's database."""
        host = _host_part(self.admin_dsn)
        query = "?sslmode=disable" if host.startswith(("127.", "localhost")) else ""
        return f"postgresql://{service}:{self.passwords[service]}@{host}/{self.database}{query}"

    def admin_database_dsn(self) -> str:
        """The admin connection URL of the run's database."""
        return _with_database(self.admin_dsn, self.database)

    def service_env(self, service: str, port: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a service process of this run gets."""
        prefix = service.upper()
        api_tokens = (
            f'{{"{self.tokens["admin"]}": ["admin"], "{self.tokens["write"]}": ["write"],'
            f' "{self.tokens["read"]}": ["read"]}}'
        )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "LEADFLOW_TOPIC_PREFIX": self.topic_prefix,
            "LEADFLOW_API_TOKENS": api_tokens,
            f"{prefix}_DATABASE_URL": self.dsn(service),
            f"{prefix}_HTTP_HOST": "127.0.0.1",
            f"{prefix}_HTTP_PORT": str(port),
            f"{prefix}_RELAY_POLL_INTERVAL_S": "0.2",
        }
        if service == "intake":
            env.update(dict.fromkeys(INTAKE_WEBHOOK_SECRETS, self.webhook_secret))
        if service == "nurture":
            env["NURTURE_UNSUBSCRIBE_SECRET"] = self.unsubscribe_secret
            env["NURTURE_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        env.update(extra or {})
        return env

    async def create(self) -> None:
        """Provision the database and schemas, migrate every service, create the topics."""
        await provision_database_async(self.admin_dsn, self.database, self.passwords)
        for service in SERVICES:
            started = time.monotonic()
            migrate(service, self.service_env(service, 1))
            self.migrate_s[service] = round(time.monotonic() - started, 2)
        await create_topics_async(self.bootstrap, all_topics(self.topic_prefix), self.partitions)

    async def destroy(self) -> None:
        """Drop the run's database and topics."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.delete_topics(all_topics(self.topic_prefix))
        except Exception:
            pass
        finally:
            await admin.close()
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await conn.close()


def _host_part(dsn: str) -> str:
    rest = dsn.split("://", 1)[1]
    return rest.split("@", 1)[1].split("/", 1)[0].split("?", 1)[0]


def new_test_stack(label: str = "t") -> TestStack:
    """A new isolated system on the local (or given) Kafka and Postgres."""
    env = base_env()
    passwords = role_passwords(env) if all(f"{s.upper()}_DATABASE_URL" in env for s in SERVICES) else {}
    passwords = {s: passwords.get(s) or secrets.token_urlsafe(18) for s in SERVICES}
    return TestStack(
        name=f"{label}{secrets.token_hex(4)}",
        bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"],
        admin_dsn=env["LEADFLOW_ADMIN_DATABASE_URL"],
        passwords=passwords,
        tokens={scope: secrets.token_urlsafe(24) for scope in ("admin", "write", "read")},
    )


def bin_path(command: str) -> str:
    """A console script of the virtualenv running the tests."""
    return str(Path(sys.executable).parent / command)


def migrate(service: str, env: Mapping[str, str]) -> None:
    """Run a service's migrations as its CLI would."""
    result = subprocess.run(
        [bin_path(f"leadflow-{service}"), "migrate"],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{service} migrate failed:\n{result.stdout}\n{result.stderr}")


class ServiceProcess:
    """One service running as its own OS process, as in production."""

    def __init__(self, stack: TestStack, service: str, extra_env: Mapping[str, str] | None = None) -> None:
        self.stack = stack
        self.service = service
        self.port = free_port()
        self.extra_env = dict(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None
        # When start() last spawned the process (monotonic clock), for timing its start-up.
        self.spawned_at = 0.0
        stack.logs.mkdir(parents=True, exist_ok=True)
        self.log_file = stack.logs / f"{stack.name}-{service}.log"

    @property
    def url(self) -> str:
        """The service's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The command line that serves the service."""
        return [bin_path(f"leadflow-{self.service}"), "serve"]

    def in_child(self) -> Callable[[], None] | None:
        """What the child runs between fork and exec: nothing here."""
        return None

    def start(self, wait: bool = True) -> ServiceProcess:
        """Start the process and, by default, wait until it is ready."""
        self.spawned_at = time.monotonic()
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                env=self.stack.service_env(self.service, self.port, self.extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=self.in_child(),
            )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until /health/ready answers 200, or fail with the log's tail."""
        wait_all_ready([self], timeout)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the process's log."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then wait for a graceful exit (SIGKILL after the timeout)."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def wait_all_ready(processes: Sequence[ServiceProcess], timeout: float = 60.0) -> dict[int, float]:
    """Poll the processes' /health/ready together until each answers 200; seconds from each one's spawn to
    its first 200, by id(process). A process that exits or stays unready fails with its log's tail."""
    ready: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as client:
        while len(ready) < len(processes):
            for process in processes:
                if id(process) in ready:
                    continue
                if process.process is not None and process.process.poll() is not None:
                    raise RuntimeError(f"{process.service} exited; log tail:\n{process.log_tail()}")
                try:
                    answered = client.get(process.url + "/health/ready").status_code == 200
                except httpx.HTTPError:
                    answered = False
                if answered:
                    ready[id(process)] = time.monotonic() - process.spawned_at
            if len(ready) < len(processes):
                if time.monotonic() > deadline:
                    late = next(p for p in processes if id(p) not in ready)
                    raise RuntimeError(f"{late.service} not ready; log tail:\n{late.log_tail()}")
                time.sleep(0.02)
    return ready


@contextlib.contextmanager
def services_running(
    stack: TestStack, extra: Mapping[str, Mapping[str, str]] | None = None
) -> Iterator[dict[str, ServiceProcess]]:
    """The four services as processes, started together and ready; stopped gracefully afterwards."""
    processes = {name: ServiceProcess(stack, name, (extra or {}).get(name)) for name in SERVICES}
    try:
        for process in processes.values():
            process.start(wait=False)
        wait_all_ready(list(processes.values()))
        yield processes
    finally:
        for process in processes.values():
            process.stop()


class ConsoleProcess:
    """The web console's static server as its own process, pointed at a test stack's services."""

    def __init__(self, stack: TestStack, apis: Mapping[str, str]) -> None:
        self.port = free_port()
        self.apis = dict(apis)
        self.process: subprocess.Popen[bytes] | None = None
        stack.logs.mkdir(parents=True, exist_ok=True)
        self.log_file = stack.logs / f"{stack.name}-console.log"

    @property
    def url(self) -> str:
        """Where the console answers; also its browser origin."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> ConsoleProcess:
        """Start the server and wait until it answers."""
        root = repo_root() / "console"
        console.check_installed(root)
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                console.command(root, self.port, self.apis),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not procs.port_open("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the console server did not start; log: {self.log_file}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@dataclass
class ConsoleStack:
    """The web console's server and the four services it talks to, on a test stack of their own."""

    __test__ = False

    stack: TestStack
    server: ConsoleProcess
    services: dict[str, ServiceProcess]

    @property
    def url(self) -> str:
        """The console's address, which is also its browser origin."""
        return self.server.url

    def api(self, service: str, scope: str = "admin") -> httpx.Client:
        """A client of one service with a token of the scope."""
        return httpx.Client(
            base_url=self.services[service].url,
            headers={"Authorization": f"Bearer {self.stack.tokens[scope]}"},
            timeout=10.0,
        )


@contextlib.contextmanager
def console_running(
    stack: TestStack, extra: Mapping[str, Mapping[str, str]] | None = None
) -> Iterator[ConsoleStack]:
    """The four services, allowing the console's origin (CORS), and the console server pointed at them."""
    server = ConsoleProcess(stack, {})
    env = {
        name: {f"{name.upper()}_CORS_ORIGINS": server.url, **(extra or {}).get(name, {})} for name in SERVICES
    }
    with services_running(stack, env) as processes:
        server.apis = {name: process.url for name, process in processes.items()}
        server.start()
        try:
            yield ConsoleStack(stack, server, processes)
        finally:
            server.stop()


def submission_stream(count: int, first_name: str, last_name: str) -> list[tuple[bytes | None, bytes]]:
    """`count` different people at one company as leads.submitted messages (key, value), as upstream sends."""
    run = uuid.uuid4().hex[:6]
    messages: list[tuple[bytes | None, bytes]] = []
    for n in range(count):
        lead = LeadSubmission(
            first_name=first_name,
            last_name=f"{last_name} {n}",
            email=f"{first_name.lower()}.{run}.{n}@langley.example",
            company="Langley",
            source_system="webform",
            source_id=f"{run}-{n}",
        )
        envelope = new_event(LeadSubmitted(submission=lead), source="upstream")
        messages.append((envelope.key(), encode(envelope)))
    return messages


async def wait_until(check: Callable[[], Awaitable[T | None]], within: float = 60.0, every: float = 0.2) -> T:
    """Poll an async check until it answers something truthy; fail after the timeout."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"condition not met within {within}s (last answer: {last!r})")


async def wait_blocking(holder: asyncpg.Connection, within: float = 30.0) -> None:
    """Wait until another session waits for a lock that the holder's open transaction holds.

    A sentinel that work started beside the holder got as far as the holder's rows, where a sleep would guess
    how long it takes to get there. The holder itself asks, between its statements: another connection from
    a small pool could be the very one the waiting work needs.
    """
    query = (
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
    )

    async def blocked() -> int:
        return int(await holder.fetchval(query))

    await wait_until(blocked, within=within, every=0.02)


async def produce(stack: TestStack, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> None:
    """Publish raw messages (key, value) to a topic of the run, as an upstream system would."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(stack.topic_prefix + topic, value=v, key=k) for k, v in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def wait_consumed(stack: TestStack, topic: str, services: Sequence[str], within: float = 60.0) -> None:
    """Wait until every consumer group of these services that reads the topic has committed all it holds now.

    Groups commit after their database transaction, so afterwards every message produced before the call was
    handled (or passed over): a sentinel for "nothing more will come of them", where a sleep would guess.
    """
    name = stack.topic_prefix + topic
    partitions = [TopicPartition(name, p) for p in range(stack.partitions)]
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        prefixes = tuple(f"{stack.topic_prefix}{service}." for service in services)
        groups = [g[0] for g in await admin.list_consumer_groups() if str(g[0]).startswith(prefixes)]

        async def behind() -> dict[str, int]:
            left: dict[str, int] = {}
            for group in groups:
                committed = await admin.list_consumer_group_offsets(group)
                if not any(tp.topic == name for tp in committed):
                    continue  # the group does not read this topic
                done = {tp: meta.offset for tp, meta in committed.items() if tp.topic == name}
                left[group] = sum(max(0, end - done.get(tp, 0)) for tp, end in ends.items())
            return left

        async def caught_up() -> bool:
            left = await behind()
            return bool(left) and not any(left.values())

        await wait_until(caught_up, within=within)
    finally:
        await consumer.stop()
        await admin.close()


async def read_topic(stack: TestStack, topic: str, within: float = 3.0) -> list[ConsumerRecord[bytes, bytes]]:
    """Every message on a topic of the run when called, from the beginning.

    Reads up to each partition's end offset as it stood at the call, the sentinel of "all there was", instead
    of for a fixed time; `within` only bounds the read, which then answers what it got.
    """
    consumer = AIOKafkaConsumer(
        stack.topic_prefix + topic,
        bootstrap_servers=stack.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        # Without a group, starting assigns every partition of the topic.
        ends = await consumer.end_offsets(list(consumer.assignment()))
        left = {tp for tp, end in ends.items() if end > 0}
        deadline = time.monotonic() + within
        while left and time.monotonic() < deadline:
            batch = await consumer.getmany(*left, timeout_ms=300)
            for msgs in batch.values():
                records.extend(msgs)
            left = {tp for tp in left if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return records


class Db:
    """A service's own view of the run's database, to check what it stored."""

    def __init__(self, stack: TestStack, service: str) -> None:
        self.dsn = stack.dsn(service)
        self.schema = service

    async def fetchval(self, query: str, *args: object) -> Any:
        """One value."""
        conn = await asyncpg.connect(self.dsn, server_settings={"search_path": self.schema})
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        """Rows."""
        conn = await asyncpg.connect(self.dsn, server_settings={"search_path": self.schema})
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def api_client(
    stack: TestStack,
    settings_class: type[ServiceSettings],
    routers: Sequence[APIRouter],
    pool: asyncpg.Pool,
    scope: str = "read",
    state: dict[str, Any] | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """A service's routes in-process on the run's database, no Kafka, with a token of one scope."""
    service = settings_class.service_name
    settings = settings_class(database_url=stack.dsn(service), api_tokens={stack.tokens[scope]: [scope]})
    app = create_app(
        title=service, description="in-process", api_tokens=settings.api_tokens, ready_check=_ready
    )
    for router in [*routers, timeline_router()]:
        app.include_router(router)
    app.state.runtime = Runtime(
        definition=ServiceDefinition(
            title=service, description="in-process", settings=settings, state=dict(state or {})
        ),
        pool=pool,
        producer=None,
        relay=None,  # type: ignore[arg-type]
        uow=UnitOfWorkFactory(pool, service, stack.topic_prefix),
        consumers=[],
        stopping=asyncio.Event(),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=f"http://{service}.test",
        headers={"Authorization": f"Bearer {stack.tokens[scope]}"},
    ) as client:
        yield client


async def _ready() -> dict[str, bool]:
    return {"database": True}


# Every column that can hold text about a person: text and jsonb, and the outbox's stored messages.
_PERSONAL_COLUMNS = """
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = $1 AND data_type IN ('text', 'jsonb', 'json', 'character varying', 'ARRAY', 'bytea')
ORDER BY table_name, column_name
"""


async def personal_traces(conn: asyncpg.Connection, schema: str, needles: Sequence[str]) -> list[str]:
    """Where in a schema any of these strings still appears, case-insensitively: every text, jsonb and array
    column of every table, and bytea columns (stored messages, uploads) by the needle's UTF-8 bytes."""
    found = []
    for row in await conn.fetch(_PERSONAL_COLUMNS, schema):
        table, column = f'"{schema}"."{row["table_name"]}"', f'"{row["column_name"]}"'
        if row["data_type"] == "bytea":
            # Bytes need not be UTF-8 (an uploaded CSV): look for the needle's bytes as given and lower-cased.
            holds = (
                f"(position(convert_to($1, 'UTF8') in {column}) > 0"
                f" OR position(convert_to(lower($1), 'UTF8') in {column}) > 0)"
            )
        else:
            holds = f"strpos(lower({column}::text), lower($1)) > 0"
        for needle in needles:
            hits = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {holds}", needle)
            if hits:
                found.append(
                    f"{schema}.{row['table_name']}.{row['column_name']} holds {needle!r} ({hits} rows)"
                )
    return found
