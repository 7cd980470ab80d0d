"""The stack as a whole: infra (Kafka, PostgreSQL, provisioning, topics), services, status."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from leadflow_devstack import console, kafka, mail, postgres, procs, services, topics
from leadflow_devstack.env import (
    ADMIN_ROLE,
    DATABASE,
    PG_PORT,
    SERVICES,
    ensure_env,
    password_from_url,
    role_passwords,
)
from leadflow_devstack.paths import StackPaths

Say = Callable[[str], None]


def _timed(say: Say, label: str, started: float) -> None:
    say(f"{label} ({time.monotonic() - started:.1f} s)")


def infra(paths: StackPaths, say: Say) -> dict[str, str]:
    """Bring up Kafka and PostgreSQL, provision roles and schemas, create topics; return the env contract."""
    paths.ensure()
    env = ensure_env(paths)
    started = time.monotonic()
    # Kafka boots in the background while PostgreSQL starts and is provisioned.
    if kafka.start(paths):
        say("kafka: starting")
    else:
        say("kafka: already running")
    cluster = postgres.ensure_running()
    postgres.ensure_admin_role(password_from_url(env["LEADFLOW_ADMIN_DATABASE_URL"]), ADMIN_ROLE)
    postgres.provision_database(env["LEADFLOW_ADMIN_DATABASE_URL"], DATABASE, role_passwords(env))
    _timed(
        say,
        f"postgres {cluster.version}/main: up on 127.0.0.1:{PG_PORT}, database {DATABASE} provisioned",
        started,
    )
    kafka.wait_ready(paths)
    _timed(say, f"kafka: ready on {env['KAFKA_BOOTSTRAP_SERVERS']}", started)
    names = topics.system_topics(env.get("LEADFLOW_TOPIC_PREFIX", ""))
    created = topics.create_topics(
        env["KAFKA_BOOTSTRAP_SERVERS"], names, int(env.get("LEADFLOW_TOPIC_PARTITIONS", "6"))
    )
    _timed(say, f"topics: {len(names)} present ({len(created)} created)", started)
    return env


def up(paths: StackPaths, say: Say) -> dict[str, str]:
    """Infra, then each service migrated, started and ready, in order, then the web console."""
    env = infra(paths, say)
    # The services answer the console's browser calls: their CORS origins name it.
    service_env = {**env, **console.cors_env(console.origins(), {**os.environ, **env})}
    if mail.start(paths):
        say(f"smtp sink: listening on {mail.SMTP_HOST}:{mail.SMTP_PORT}, mail kept in {mail.maildir(paths)}")
    for service in SERVICES:
        started = time.monotonic()
        if services.running_pid(paths, service) is not None and services.is_ready(service):
            say(f"{service.name}: already running")
            continue
        services.migrate(paths, service, env)
        services.start(paths, service, service_env)
        services.wait_ready(paths, service)
        _timed(say, f"{service.name}: ready on {service.base_url}", started)
    if console.start(paths, env):
        say(f"console: serving on {console_url()}")
    else:
        say("console: already running")
    return env


def console_url() -> str:
    """Where the web console answers."""
    return f"http://{console.CONSOLE_HOST}:{console.CONSOLE_PORT}"


def down(paths: StackPaths, say: Say, *, postgres_too: bool = False) -> None:
    """Stop the console and the services (last first), then Kafka; PostgreSQL only when asked."""
    if console.stop(paths):
        say("console: stopped")
    for service in reversed(SERVICES):
        if services.stop(paths, service):
            say(f"{service.name}: stopped")
    if mail.stop(paths):
        say("smtp sink: stopped")
    if kafka.stop(paths):
        say("kafka: stopped")
    if postgres_too:
        postgres.stop_cluster()
        say("postgres: stopped")
    else:
        say("postgres: left running (stop it with `leadflow-stack down --postgres`)")


@dataclass(frozen=True)
class ComponentStatus:
    """What one component is doing right now."""

    name: str
    pid: int | None
    address: str
    answering: bool
    ready: bool | None
    log: str


def status(paths: StackPaths) -> list[ComponentStatus]:
    """Pids alive, ports answering and readiness of every component."""
    rows = [
        ComponentStatus(
            "kafka",
            kafka.running_pid(paths),
            "127.0.0.1:9092",
            procs.port_open("127.0.0.1", 9092),
            None,
            str(paths.log("kafka")),
        ),
        ComponentStatus(
            "postgres",
            None,
            f"127.0.0.1:{PG_PORT}",
            procs.port_open("127.0.0.1", PG_PORT),
            None,
            "/var/log/postgresql/",
        ),
    ]
    rows.append(
        ComponentStatus(
            "smtp sink",
            procs.running_pid(paths.pid("smtp")),
            f"{mail.SMTP_HOST}:{mail.SMTP_PORT}",
            procs.port_open(mail.SMTP_HOST, mail.SMTP_PORT),
            None,
            str(paths.log("smtp")),
        )
    )
    rows.append(
        ComponentStatus(
            "console",
            procs.running_pid(paths.pid(console.NAME)),
            console_url(),
            procs.port_open(console.CONSOLE_HOST, console.CONSOLE_PORT),
            None,
            str(paths.log(console.NAME)),
        )
    )
    for service in SERVICES:
        answering = procs.port_open("127.0.0.1", service.port)
        rows.append(
            ComponentStatus(
                service.name,
                services.running_pid(paths, service),
                service.base_url,
                answering,
                services.is_ready(service) if answering else False,
                str(paths.log(service.name)),
            )
        )
    return rows
