"""Apache Kafka from its Maven Central jars: resolve, format once, start, wait, stop."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from leadflow_devstack import procs, system
from leadflow_devstack.env import KAFKA_BOOTSTRAP
from leadflow_devstack.paths import StackPaths

NAME = "kafka"
_DATA_PLACEHOLDER = "@KAFKA_DATA_DIR@"
_STAMP = ".pom.sha256"


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64, unpadded (as `kafka-storage random-uuid`)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        # One in 64 would start with "-", and `kafka-storage format -t -abc` takes it for an option; Kafka's
        # own Uuid.randomUuid() draws again too.
        if not cluster_id.startswith("-"):
            return cluster_id


def render_server_properties(template: str, data_dir: str) -> str:
    """Fill the checked-in server.properties with this checkout's data folder."""
    if _DATA_PLACEHOLDER not in template:
        raise ValueError(f"server.properties has no {_DATA_PLACEHOLDER} placeholder for log.dirs")
    return template.replace(_DATA_PLACEHOLDER, data_dir)


def _pom_digest(paths: StackPaths) -> str:
    return hashlib.sha256((paths.kafka_sources / "pom.xml").read_bytes()).hexdigest()


def ensure_jars(paths: StackPaths) -> None:
    """Copy Kafka and its runtime jars into `.leadflow/kafka/libs` unless the pom is unchanged."""
    stamp = paths.kafka_libs / _STAMP
    digest = _pom_digest(paths)
    if (
        stamp.exists()
        and stamp.read_text().strip() == digest
        and any(paths.kafka_libs.glob("kafka_2.13-*.jar"))
    ):
        return
    system.ensure_java_and_maven()
    shutil.rmtree(paths.kafka_libs, ignore_errors=True)
    paths.kafka_libs.mkdir(parents=True)
    subprocess.run(
        [
            "mvn", "-B", "-q", "-Dstyle.color=never",
            "-f", str(paths.kafka_sources / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={paths.kafka_libs}",
            "-DincludeScope=runtime",
        ],
        check=True,
    )  # fmt: skip
    stamp.write_text(digest + "\n")


def java_command(
    paths: StackPaths, main_class: str, *args: str, heap: bool = False, logs: Path | None = None
) -> list[str]:
    """The java command line running one of Kafka's main classes from this checkout's jars."""
    command = ["java"]
    if heap:
        command += ["-Xms256m", "-Xmx1g"]
    command += [
        "-cp", f"{paths.kafka_libs}/*",
        f"-Dlog4j2.configurationFile={paths.kafka_sources / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={logs or paths.logs}",
        main_class, *args,
    ]  # fmt: skip
    return command


def ensure_config(paths: StackPaths) -> None:
    """Render server.properties for this checkout."""
    template = (paths.kafka_sources / "server.properties").read_text()
    rendered = render_server_properties(template, str(paths.kafka_data))
    if not paths.kafka_config.exists() or paths.kafka_config.read_text() != rendered:
        paths.kafka_config.write_text(rendered)


def ensure_formatted(paths: StackPaths) -> None:
    """Format the KRaft storage once (the cluster id is kept in `.leadflow/kafka/cluster-id`)."""
    if (paths.kafka_data / "meta.properties").exists():
        return
    id_file = paths.kafka_home / "cluster-id"
    if not id_file.exists():
        id_file.write_text(new_cluster_id() + "\n")
    cluster_id = id_file.read_text().strip()
    subprocess.run(
        java_command(
            paths, "kafka.tools.StorageTool",
            "format", "--standalone", "-t", cluster_id, "-c", str(paths.kafka_config), "--ignore-formatted",
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def running_pid(paths: StackPaths) -> int | None:
    """The pid of the broker this stack started, if it runs."""
    return procs.running_pid(paths.pid(NAME))


def start(paths: StackPaths) -> bool:
    """Start the broker unless it already runs or the port answers; True if a new process was started."""
    paths.ensure()
    if running_pid(paths) is not None or procs.port_open("127.0.0.1", 9092):
        return False
    ensure_jars(paths)
    ensure_config(paths)
    ensure_formatted(paths)
    procs.start_detached(
        java_command(paths, "kafka.Kafka", str(paths.kafka_config), heap=True),
        log_file=paths.log("kafka-stdout"),
        pid_file=paths.pid(NAME),
        env=os.environ,
        cwd=paths.root,
    )
    return True


async def metadata_ok(bootstrap: str = KAFKA_BOOTSTRAP) -> bool:
    """Whether a metadata request (list topics) succeeds."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        await admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        await admin.close()


def wait_ready(paths: StackPaths, timeout: float = 120.0) -> None:
    """Wait until the port answers and a metadata request works; fail early if the broker dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid_file = paths.pid(NAME)
        if pid_file.exists() and running_pid(paths) is None:
            raise procs.StackError(
                f"Kafka exited while starting; last lines of {paths.log(NAME)}:\n{_logs(paths)}"
            )
        if procs.port_open("127.0.0.1", 9092) and asyncio.run(metadata_ok()):
            return
        time.sleep(0.5)
    raise procs.StackError(f"Kafka did not answer on {KAFKA_BOOTSTRAP} in {timeout:.0f} s:\n{_logs(paths)}")


def _logs(paths: StackPaths) -> str:
    return procs.tail(paths.log(NAME)) + "\n" + procs.tail(paths.log("kafka-stdout"), 20)


def stop(paths: StackPaths) -> bool:
    """Stop the broker this stack started (a controlled shutdown can take a few seconds)."""
    return procs.stop(paths.pid(NAME), timeout=60.0)
