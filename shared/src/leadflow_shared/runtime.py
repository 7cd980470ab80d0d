"""The composition root every service builds on: pool, producer, outbox relay, consumers, HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import asyncpg
import structlog
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request

from leadflow_shared import metrics
from leadflow_shared.consumer import EventConsumer, Subscription
from leadflow_shared.contracts.topics import dlq, own_topics
from leadflow_shared.db import create_pool
from leadflow_shared.http import create_app
from leadflow_shared.kafka_client import install_client_fixes
from leadflow_shared.limits import message_limit
from leadflow_shared.logging import configure_logging, secret_values
from leadflow_shared.outbox import OutboxRelay
from leadflow_shared.partitioner import KafkaPartitioner
from leadflow_shared.priority import lower_cpu_priority
from leadflow_shared.settings import ServiceSettings
from leadflow_shared.timeline import timeline_router
from leadflow_shared.tracing import Tracing, start_tracing
from leadflow_shared.uow import UnitOfWorkFactory

log = structlog.get_logger(__name__)

BackgroundTask = Callable[["Runtime"], Coroutine[Any, Any, None]]


@dataclass
class ServiceDefinition:
    """What makes one service: its settings, subscriptions, routes and background loops."""

    title: str
    description: str
    settings: ServiceSettings
    subscriptions: Sequence[Subscription] = ()
    routers: Sequence[APIRouter] = ()
    background: Sequence[BackgroundTask] = ()
    state: dict[str, Any] = field(default_factory=dict)
    # Paths whose bodies may exceed the service's max_body_bytes (an upload), with their own limit.
    body_limits: dict[str, int] = field(default_factory=dict)
    # Topics written beside its own and the dead-letter topics of those it reads (intake's upstream ones).
    writes: Sequence[str] = ()

    def written_topics(self) -> list[str]:
        """Every topic the service writes to, under the configured prefix."""
        settings = self.settings
        names = [*own_topics(settings.service_name), *self.writes]
        names += [dlq(topic) for sub in self.subscriptions for topic in sub.topics]
        return [settings.topic(name) for name in dict.fromkeys(names)]


@dataclass
class Runtime:
    """The live parts of a running service, reachable from routes as request.app.state.runtime."""

    definition: ServiceDefinition
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    relay: OutboxRelay
    uow: UnitOfWorkFactory
    consumers: list[EventConsumer]
    stopping: asyncio.Event
    tracing: Tracing | None = None

    @property
    def settings(self) -> ServiceSettings:
        """The service's settings."""
        return self.definition.settings


def runtime_of(request: Request) -> Runtime:
    """The runtime behind a request."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def periodic(interval_s: float, job: Callable[[Runtime], Coroutine[Any, Any, None]]) -> BackgroundTask:
    """A background task running the job every interval_s until the service stops; failures are logged."""

    async def every_round(runtime: Runtime) -> None:
        while not runtime.stopping.is_set():
            try:
                await job(runtime)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("background job failed; retrying next round", job=job.__name__, error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runtime.stopping.wait(), interval_s)

    every_round.__name__ = job.__name__
    return every_round


def build_app(definition: ServiceDefinition) -> FastAPI:
    """Assemble the FastAPI app whose lifespan starts and stops every part in order."""
    settings = definition.settings
    name = settings.service_name
    install_client_fixes()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(
            settings.database_url, settings.db_schema, settings.db_pool_min, settings.db_pool_max
        )
        limit = await message_limit(
            settings.kafka_bootstrap_servers, definition.written_topics(), settings.producer_max_request_size
        )
        metrics.MESSAGE_LIMIT.labels(name).set(limit)

        async def new_producer() -> AIOKafkaProducer:
            producer = AIOKafkaProducer(
                bootstrap_servers=settings.kafka_bootstrap_servers,
                client_id=f"{name}-producer",
                enable_idempotence=True,
                acks="all",
                # The relay adds a whole round of rows before the sender runs, so they share requests anyway;
                # lingering would only hold each round's acknowledgement back (median 7.7 -> 2.1 ms at 500/s).
                linger_ms=0,
                # A batch the broker refuses as too large would park the good rows in it: none is larger.
                max_batch_size=min(262_144, limit),
                max_request_size=settings.producer_max_request_size,
                # The Java client's partition for every key, computed cheaper than aiokafka's own murmur2.
                partitioner=KafkaPartitioner(),
            )
            await producer.start()
            return producer

        producer = await new_producer()
        relay = OutboxRelay(
            pool,
            producer,
            name,
            batch_size=settings.relay_batch_size,
            poll_interval_s=settings.relay_poll_interval_s,
            retention_s=settings.outbox_retention_s,
            inbox_retention_s=settings.inbox_retention_s,
            max_message_bytes=limit,
            producer_factory=new_producer,
        )
        relay.start()
        tracing = start_tracing(name, settings.otlp_endpoint)
        consumers = [
            EventConsumer(
                sub,
                service=name,
                pool=pool,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                topic_prefix=settings.topic_prefix,
                relay=relay,
                max_records=settings.consumer_max_records,
                concurrency=settings.consumer_concurrency,
                max_message_bytes=limit,
                tracing=tracing,
            )
            for sub in definition.subscriptions
            if settings.role != "api"
        ]
        for consumer in consumers:
            await consumer.start()
        runtime = Runtime(
            definition=definition,
            pool=pool,
            producer=producer,
            relay=relay,
            uow=UnitOfWorkFactory(pool, name, settings.topic_prefix, relay, limit),
            consumers=consumers,
            stopping=asyncio.Event(),
            tracing=tracing,
        )
        app.state.runtime = runtime
        jobs = definition.background if settings.role != "api" else ()
        tasks = [asyncio.create_task(job(runtime), name=f"{name}-{job.__name__}") for job in jobs]
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, log_awaits)
        tune_collector(settings.gc_threshold)
        log.info(
            "service started",
            port=settings.http_port,
            role=settings.role,
            consumers=[c.group_id for c in consumers],
        )
        try:
            yield
        finally:
            log.info("service stopping")
            runtime.stopping.set()
            for consumer in consumers:
                await consumer.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await relay.stop(settings.shutdown_timeout_s)
            # The relay's producer: it starts a new one when Kafka refused a batch.
            await relay.producer.stop()
            await pool.close()
            if tracing is not None:
                tracing.shutdown()
            log.info("service stopped")

    async def ready_check() -> dict[str, bool]:
        runtime: Runtime | None = getattr(app.state, "runtime", None)
        if runtime is None:
            return {"database": False, "kafka": False, "consumers": False, "relay": False}
        checks = {
            "database": False,
            "kafka": False,
            "consumers": all(c.running for c in runtime.consumers),
            "relay": False,
        }
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                checks["database"] = await runtime.pool.fetchval("SELECT 1") == 1
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                checks["kafka"] = bool(await runtime.relay.producer.client.fetch_all_metadata())
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                health = await runtime.relay.health()
                checks["relay"] = not health.stalled(settings.relay_stall_seconds)
        return checks

    app = create_app(
        title=definition.title,
        description=definition.description,
        api_tokens=settings.api_tokens,
        ready_check=ready_check,
        lifespan=lifespan,
        service=name,
        max_body_bytes=settings.max_body_bytes,
        body_limits=definition.body_limits,
        cors_origins=settings.cors_origins,
        cors_allow_credentials=settings.cors_allow_credentials,
    )
    for router in definition.routers:
        app.include_router(router)
    app.include_router(timeline_router())
    return app


def awaiting(task: asyncio.Task[Any]) -> list[str]:
    """Where a task waits: each coroutine of its await chain, outermost first, as file:line function."""
    chain = []
    coro: Any = task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            chain.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return chain


def tune_collector(threshold: tuple[int, int, int]) -> None:
    """Keep what start-up loaded out of every collection, and collect less often than Python's default."""
    # What is loaded so far lives as long as the process: a full collection would walk it all and stall
    # requests and batches alike.
    gc.freeze()
    # A batch's objects die when it ends; at Python's 700 the collector walked them many times over while the
    # batch ran (at 50,000 the four services took 10-13% less CPU per lead, at the same peak memory).
    gc.set_threshold(*threshold)


def log_awaits() -> None:
    """Log where every task of the process waits (`kill -USR1 <pid>`): what a stalled consumer waits on."""
    for task in asyncio.all_tasks():
        log.warning("task waits", task=task.get_name(), chain=awaiting(task))


def serve(definition: ServiceDefinition) -> None:
    """Run the service until SIGTERM or SIGINT, then shut down gracefully."""
    settings = definition.settings
    configure_logging(settings.service_name, settings.log_level, secret_values(settings))
    lowered = lower_cpu_priority(settings.nice)
    if lowered:
        structlog.get_logger().info("cpu priority lowered", nice=settings.nice, scope=lowered)
    app = build_app(definition)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        loop="uvloop",
        http="httptools" if _has("httptools") else "h11",
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_s),
    )
    server = GracefulServer(config)
    server.run()
    if not server.started:
        raise SystemExit(3)


class GracefulServer(uvicorn.Server):
    """uvicorn that exits 0 after a graceful shutdown on SIGTERM, as process supervisors expect."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Shut down gracefully; a second SIGINT forces the exit."""
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True
