"""The system under test: services as processes on an isolated stack, and when the pipeline is done."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import importlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from leadflow_bench.measure import ProcessSample, sample_process
from leadflow_devstack.testing import SERVICES, ServiceProcess, TestStack, wait_all_ready
from leadflow_shared.contracts import topics

_PR_SET_PDEATHSIG = 1
# Looked up before any fork: between fork and exec the child only calls it. None where there is no prctl.
_prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)


def _die_with_parent() -> None:
    """In the child between fork and exec: SIGTERM when the thread that spawned it ends (Linux)."""
    assert _prctl is not None
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class BenchService(ServiceProcess):
    """A service process, optionally run under cProfile (the profile is written on a graceful stop)."""

    def __init__(
        self, stack: TestStack, service: str, extra_env: Mapping[str, str] | None, profile_dir: Path | None
    ) -> None:
        super().__init__(stack, service, extra_env)
        self.profile_dir = profile_dir

    def command(self) -> list[str]:
        """The service's command line, under cProfile when a profile directory is set."""
        if self.profile_dir is None:
            return super().command()
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        profile = str(self.profile_dir / f"{self.service}.prof")
        return [sys.executable, "-m", "cProfile", "-o", profile, *super().command()]

    def in_child(self) -> Callable[[], None] | None:
        """A service runs in a session of its own, out of reach of an interrupt of the bench: it is stopped
        when the bench ends however it ends, SIGKILL included, instead of consuming beside the next run."""
        return _die_with_parent if _prctl is not None else None


@dataclass
class Services:
    """The services of one stack (one process each, or several replicas), with their resource samples."""

    stack: TestStack
    processes: dict[str, BenchService]
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # Further processes of a service in the same consumer groups, beside the one in `processes`.
    replicas: dict[str, list[BenchService]] = field(default_factory=dict)
    # Seconds from spawning each process in `processes` to its first ready answer.
    startup_s: dict[str, float] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        stack: TestStack,
        extra_env: Mapping[str, str] | None = None,
        profile_dir: Path | None = None,
        worker_nice: int = 0,
        replicas: int = 1,
    ) -> Services:
        """Start every service (`replicas` processes each, all at once) and wait until all are ready."""
        env = {**(extra_env or {})}

        def spawn(name: str) -> BenchService:
            return BenchService(stack, name, {f"{name.upper()}_NICE": str(worker_nice), **env}, profile_dir)

        processes = {name: spawn(name) for name in SERVICES}
        more = {name: [spawn(name) for _ in range(replicas - 1)] for name in SERVICES}
        for number, extra in enumerate(zip(*more.values(), strict=True), start=2):
            for process in extra:
                process.log_file = stack.logs / f"{stack.name}-{process.service}-{number}.log"
        everyone = [*processes.values(), *(p for extra in more.values() for p in extra)]
        for process in everyone:
            process.start(wait=False)
        ready = wait_all_ready(everyone, timeout=120)
        return cls(
            stack,
            processes,
            extra_env=env,
            replicas=more,
            startup_s={name: round(ready[id(p)], 2) for name, p in processes.items()},
        )

    def all_processes(self) -> Iterator[BenchService]:
        """Every process of every service."""
        yield from self.processes.values()
        for extra in self.replicas.values():
            yield from extra

    def restart(self, service: str) -> tuple[float, float]:
        """Stop one service gracefully and start it again alone: seconds to stop, and to ready again."""
        old = self.processes[service]
        began = time.monotonic()
        old.stop()
        stopped = time.monotonic() - began
        # Not profiled: its profile would overwrite the one the first process wrote on its stop.
        new = BenchService(self.stack, service, old.extra_env, None)
        new.start(wait=False)
        ready = wait_all_ready([new], timeout=120)
        self.processes[service] = new
        return round(stopped, 2), round(ready[id(new)], 2)

    def start_api(self, service: str) -> BenchService:
        """Start one more process of a service in the api role (HTTP only) and wait until it is ready."""
        api = BenchService(
            self.stack,
            service,
            {f"{service.upper()}_NICE": "0", **self.extra_env, f"{service.upper()}_ROLE": "api"},
            None,
        )
        api.log_file = self.stack.logs / f"{self.stack.name}-{service}-api.log"
        api.start(wait=False)
        api.wait_ready(timeout=120)
        return api

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Stop every service process with SIGSTOP for the block and let it go on after."""
        pids = [p.process.pid for p in self.all_processes() if p.process is not None]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        """Stop every process gracefully."""
        for process in self.all_processes():
            process.stop()

    def sample(self) -> dict[str, ProcessSample]:
        """CPU and memory of every service now (its replicas' CPU added up); remembers the peak RSS seen."""
        samples: dict[str, ProcessSample] = {}
        for name, first in self.processes.items():
            found = [
                sample
                for process in (first, *self.replicas.get(name, ()))
                if process.process is not None and (sample := sample_process(process.process.pid)) is not None
            ]
            if not found:
                continue
            peak = max(max(s.peak_rss_mb, s.rss_mb) for s in found)
            samples[name] = ProcessSample(sum(s.cpu_s for s in found), max(s.rss_mb for s in found), peak)
            self.peak_rss_mb[name] = max(self.peak_rss_mb.get(name, 0.0), peak)
        return samples


@functools.cache
def declared_subscriptions(prefix: str) -> dict[str, set[str]]:
    """Group id -> topics, from the subscriptions each service's composition root wires (read only)."""
    result: dict[str, set[str]] = {}
    for service in SERVICES:
        settings_module = importlib.import_module(f"leadflow_{service}.settings")
        settings_cls = getattr(settings_module, f"{service.capitalize()}Settings")
        definition = importlib.import_module(f"leadflow_{service}.bootstrap").definition
        # Wiring opens no connection: the address only has to be well formed.
        settings = settings_cls(database_url="postgresql://bench@127.0.0.1/unused", topic_prefix=prefix)
        for sub in definition(settings).subscriptions:
            result[f"{prefix}{service}.{sub.name}"] = {prefix + t for t in sub.topics}
    return result


class Progress:
    """Consumer-group lag of the run's groups and unpublished outbox rows of every schema."""

    def __init__(self, stack: TestStack) -> None:
        self.stack = stack
        self.admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
        self.offsets = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, group_id=None)
        self.pools: dict[str, asyncpg.Pool] = {}

    async def __aenter__(self) -> Progress:
        await self.admin.start()
        await self.offsets.start()
        for service in SERVICES:
            self.pools[service] = await asyncpg.create_pool(
                self.stack.dsn(service), min_size=1, max_size=1, server_settings={"search_path": service}
            )
        return self

    async def __aexit__(self, *_: object) -> None:
        for pool in self.pools.values():
            await pool.close()
        await self.offsets.stop()
        await self.admin.close()

    async def groups(self) -> list[str]:
        """The consumer groups of this run (their ids start with the topic prefix)."""
        listed = await self.admin.list_consumer_groups()
        return sorted(g[0] for g in listed if g[0].startswith(self.stack.topic_prefix))

    def subscriptions(self, groups: list[str]) -> dict[str, set[str]]:
        """The topics each group subscribes to, as each service's `consumers.subscriptions()` declares."""
        declared = declared_subscriptions(self.stack.topic_prefix)
        return {g: declared.get(g, set()) for g in groups}

    async def lag(self) -> dict[str, int]:
        """Messages not yet committed per group, over every partition of every topic it subscribes to."""
        result: dict[str, int] = {}
        for group, subscribed in self.subscriptions(await self.groups()).items():
            committed = await self.admin.list_consumer_group_offsets(group)
            parts = set(committed)
            for topic in subscribed | {tp.topic for tp in committed}:
                parts.update(TopicPartition(topic, p) for p in range(self.stack.partitions))
            ends = await self.offsets.end_offsets(list(parts)) if parts else {}
            # A partition without a commit yet is consumed from the start (auto_offset_reset=earliest).
            result[group] = sum(
                max(0, ends[tp] - (committed[tp].offset if tp in committed else 0)) for tp in parts
            )
        return result

    async def volume(self) -> Volume:
        """Messages so far on each of the run's topics, and events handled per service (inbox rows)."""
        names = topics.all_topics(self.stack.topic_prefix)
        parts = [TopicPartition(t, p) for t in names for p in range(self.stack.partitions)]
        ends = await self.offsets.end_offsets(parts)
        per_topic = {t: sum(ends[TopicPartition(t, p)] for p in range(self.stack.partitions)) for t in names}
        handled = {
            name: int(await pool.fetchval("SELECT count(*) FROM inbox")) for name, pool in self.pools.items()
        }
        return Volume(per_topic, handled)

    async def session_pids(self) -> set[int]:
        """The server processes of every session on this run's database."""
        pool = next(iter(self.pools.values()))
        rows = await pool.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return {row["pid"] for row in rows}

    async def unpublished(self, services: Iterable[str]) -> dict[str, bool]:
        """Whether each of these services has outbox rows not yet published."""
        # Asked only of services without lag, and only whether one row is left: counting every row at each
        # poll would cost the database more than some of the services it measures.
        return {
            service: bool(
                await self.pools[service].fetchval(
                    "SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL)"
                )
            )
            for service in services
        }


@dataclass(frozen=True)
class Volume:
    """Counts at one moment: messages per topic, and events handled per service."""

    messages: dict[str, int]
    handled: dict[str, int]

    def since(self, earlier: Volume, prefix: str, groups: dict[str, set[str]]) -> dict[str, int]:
        """What happened between two moments: messages the services produced, delivered to groups, handled."""
        upstream = {prefix + t for t in (topics.LEADS_SUBMITTED, topics.LEADS_ACTIVITY)}
        grown = {t: n - earlier.messages.get(t, 0) for t, n in self.messages.items()}
        return {
            "produced": sum(n for t, n in grown.items() if t not in upstream),
            "delivered": sum(grown.get(t, 0) for subscribed in groups.values() for t in subscribed),
            "handled": sum(n - earlier.handled.get(s, 0) for s, n in self.handled.items()),
        }


@dataclass
class Quiet:
    """When each service last had work, and when the whole pipeline went quiet."""

    started: float
    busy_until: dict[str, float]
    done_at: float


async def wait_quiet(
    progress: Progress,
    services: Services,
    started: float,
    *,
    expect_groups: int = 0,
    hold_s: float = 1.0,
    every_s: float = 0.25,
    timeout_s: float = 3600.0,
) -> Quiet:
    """Poll until every group of the run has zero lag and no outbox has unpublished rows, for `hold_s`."""
    busy_until = {s: started for s in SERVICES}
    quiet_since: float | None = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = time.monotonic()
        lag = await progress.lag()
        services.sample()
        idle = len(lag) >= expect_groups
        lagging = {
            service
            for service in SERVICES
            if any(v for g, v in lag.items() if g.startswith(f"{progress.stack.topic_prefix}{service}."))
        }
        unpublished = await progress.unpublished(s for s in SERVICES if s not in lagging)
        for service in SERVICES:
            if service in lagging or unpublished.get(service):
                busy_until[service] = now
                idle = False
        if idle:
            quiet_since = quiet_since or now
            if now - quiet_since >= hold_s:
                return Quiet(started, busy_until, quiet_since)
        else:
            quiet_since = None
        await asyncio.sleep(every_s)
    raise TimeoutError(f"pipeline not quiet within {timeout_s}s (lag {lag}, unpublished {unpublished})")
