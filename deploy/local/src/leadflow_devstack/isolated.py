"""A Kafka broker and a PostgreSQL cluster of a test's own, on free ports, that it may crash and restart.

The shared stack (Kafka on 9092, the Debian cluster on 5432) serves everybody on the machine; the fault
tests SIGKILL their infrastructure, so they get their own: same jars, same binaries, separate ports and
data directories, removed afterwards.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from leadflow_devstack import kafka, postgres, procs
from leadflow_devstack.paths import StackPaths, default_paths
from leadflow_devstack.testing import SERVICES, TestStack, free_port

_SUPERUSER = "postgres"


def _wait(check: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise procs.StackError(f"{what} within {timeout:.0f} s")
        time.sleep(0.2)


@dataclass
class OwnKafka:
    """A single-node KRaft broker in its own folder, on its own two ports."""

    home: Path
    paths: StackPaths = field(default_factory=default_paths)
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """Where clients connect."""
        return f"127.0.0.1:{self.port}"

    def _config(self) -> Path:
        template = (self.paths.kafka_sources / "server.properties").read_text()
        rendered = kafka.render_server_properties(template, str(self.home / "data"))
        rendered = rendered.replace("127.0.0.1:9093", f"127.0.0.1:{self.controller_port}")
        rendered = rendered.replace("127.0.0.1:9092", self.bootstrap)
        config = self.home / "server.properties"
        config.write_text(rendered)
        return config

    def start(self, timeout: float = 120.0) -> None:
        """Format on first use, start the broker and wait until a metadata request works."""
        self.home.mkdir(parents=True, exist_ok=True)
        kafka.ensure_jars(self.paths)
        config = self._config()
        if not (self.home / "data" / "meta.properties").exists():
            subprocess.run(
                kafka.java_command(
                    self.paths, "kafka.tools.StorageTool", "format", "--standalone",
                    "-t", kafka.new_cluster_id(), "-c", str(config), logs=self.home,
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
        command = kafka.java_command(self.paths, "kafka.Kafka", str(config), logs=self.home)
        # A smaller heap than the shared broker's: the fault tier runs beside everything else.
        command[1:1] = ["-Xms128m", "-Xmx512m"]
        with open(self.home / "stdout.log", "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        _wait(self.ready, f"the fault broker did not answer on {self.bootstrap}", timeout)

    def ready(self) -> bool:
        """Whether the broker answers a metadata request; fails if its process died."""
        if self.process is not None and self.process.poll() is not None:
            raise procs.StackError(f"the fault broker exited:\n{procs.tail(self.home / 'stdout.log')}")
        return procs.port_open("127.0.0.1", self.port) and asyncio.run(kafka.metadata_ok(self.bootstrap))

    def crash(self) -> None:
        """SIGKILL: no controlled shutdown, no flush."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        """Stop for good (SIGTERM, then SIGKILL)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.crash()


@dataclass
class OwnPostgres:
    """A PostgreSQL cluster of Debian's binaries in its own data directory, on its own port."""

    home: Path
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def bin(self) -> Path:
        """The folder of the newest installed server's binaries."""
        return Path("/usr/lib/postgresql") / postgres.ensure_installed() / "bin"

    @property
    def data(self) -> Path:
        """The cluster's data directory."""
        return self.home / "data"

    @property
    def admin_dsn(self) -> str:
        """The admin role's URL (CREATEDB CREATEROLE, as the shared cluster's)."""
        return f"postgresql://leadflow:{self.admin_password}@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def _as_owner(self) -> dict[str, Any]:
        # PostgreSQL refuses to run as root: the cluster belongs to the postgres user when we are root.
        return {"user": _SUPERUSER, "group": _SUPERUSER} if os.geteuid() == 0 else {}

    def start(self, timeout: float = 60.0) -> None:
        """initdb on first use, then start the postmaster and wait until it accepts the admin role."""
        self.home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.home, _SUPERUSER, _SUPERUSER)
        first = not (self.data / "PG_VERSION").exists()
        if first:
            subprocess.run(
                [str(self.bin / "initdb"), "-D", str(self.data), "-U", _SUPERUSER, "--auth-local=trust",
                 "--auth-host=scram-sha-256", "--no-sync"],
                check=True, stdout=subprocess.DEVNULL, cwd="/", **self._as_owner(),
            )  # fmt: skip
        self._spawn_until_up(timeout)
        if first:
            roles = postgres.role_statements(
                {"leadflow": self.admin_password}, privileges="LOGIN CREATEDB CREATEROLE"
            )
            script = "\n".join([*roles, "GRANT pg_signal_backend TO leadflow;"])
            subprocess.run(
                [str(self.bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.home),
                 "-p", str(self.port), "-U", _SUPERUSER, "-d", "postgres", "-f", "-"],
                input=script.encode(), check=True, stdout=subprocess.DEVNULL, cwd="/", **self._as_owner(),
            )  # fmt: skip

    def _spawn_until_up(self, timeout: float) -> None:
        # After a SIGKILL of the postmaster its orphaned backends notice and exit on their own; until the last
        # one has, a new postmaster refuses the data directory, so starting is retried.
        deadline = time.monotonic() + timeout
        while True:
            with open(self.home / "postgres.log", "ab") as log:
                self.process = subprocess.Popen(
                    [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                     "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.home}",
                     "-c", "max_connections=200", "-c", "shared_buffers=128MB", "-c", "jit=off"],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd="/",
                    start_new_session=True, **self._as_owner(),
                )  # fmt: skip
            while time.monotonic() < deadline and self.process.poll() is None:
                if asyncio.run(self._accepts()):
                    return
                time.sleep(0.2)
            if time.monotonic() >= deadline:
                raise procs.StackError(
                    f"the fault cluster did not start:\n{procs.tail(self.home / 'postgres.log')}"
                )
            time.sleep(0.5)

    async def _accepts(self) -> bool:
        try:
            conn = await asyncpg.connect(
                host=str(self.home), port=self.port, user=_SUPERUSER, database="postgres", timeout=2
            )
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    def crash(self) -> None:
        """SIGKILL of the postmaster: the next start is a crash recovery from the WAL."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def restart(self, timeout: float = 90.0) -> None:
        """Start again after a crash."""
        self._spawn_until_up(timeout)

    def stop(self) -> None:
        """A fast shutdown (SIGINT), then SIGKILL if it hangs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.crash()


@dataclass
class OwnInfrastructure:
    """A broker and a cluster of one test module's own, and test stacks on them."""

    home: Path
    kafka: OwnKafka
    postgres: OwnPostgres

    @classmethod
    def start(cls, label: str = "faults") -> OwnInfrastructure:
        """Start both in a new temporary folder (Kafka boots while PostgreSQL starts)."""
        home = Path(tempfile.mkdtemp(prefix=f"leadflow-{label}-"))
        os.chmod(home, 0o755)
        infra = cls(home, OwnKafka(home / "kafka"), OwnPostgres(home / "postgres"))
        try:
            infra.postgres.start()
            infra.kafka.start()
        except BaseException:
            infra.stop()
            raise
        return infra

    def new_stack(self, label: str) -> TestStack:
        """An isolated test stack (database, topic prefix, tokens) on this broker and cluster."""
        return TestStack(
            name=f"{label}{secrets.token_hex(4)}",
            bootstrap=self.kafka.bootstrap,
            admin_dsn=self.postgres.admin_dsn,
            passwords={s: secrets.token_urlsafe(18) for s in SERVICES},
            tokens={scope: secrets.token_urlsafe(24) for scope in ("admin", "write", "read")},
        )

    def stop(self, keep_logs_in: Path | None = None) -> None:
        """Stop both and remove their data, keeping the broker's and the postmaster's logs if asked."""
        self.kafka.stop()
        self.postgres.stop()
        if keep_logs_in is not None:
            keep_logs_in.mkdir(parents=True, exist_ok=True)
            for log in [*self.kafka.home.glob("kafka.log*"), self.postgres.home / "postgres.log"]:
                if log.is_file():
                    shutil.copyfile(log, keep_logs_in / f"{self.home.name}-{log.parent.name}-{log.name}")
        shutil.rmtree(self.home, ignore_errors=True)
