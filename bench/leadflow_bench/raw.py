"""The raw pipe: the practical limit of Kafka to Postgres on this machine, with nothing of the services."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata

from leadflow_bench.measure import machine_cpu
from leadflow_devstack.testing import TestStack
from leadflow_devstack.topics import create_topics_async

TABLE_DDL = """
CREATE TABLE IF NOT EXISTS bench_raw (
    topic text NOT NULL,
    part int NOT NULL,
    off bigint NOT NULL,
    key bytea,
    payload bytea NOT NULL,
    PRIMARY KEY (topic, part, off)
)
"""


@dataclass(frozen=True)
class RawFigures:
    """Messages per second of one raw-pipe variant, and the machine's CPU it took."""

    messages: int
    seconds: float
    machine_cpu_s: float = 0.0

    @property
    def per_second(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_message(self) -> float:
        """The machine's CPU microseconds per message: Python, Kafka and Postgres together."""
        return self.machine_cpu_s / self.messages * 1e6 if self.messages else 0.0


async def produce_all(bootstrap: str, topic: str, values: list[bytes]) -> RawFigures:
    """Publish every value as fast as the producer allows (acks=all, idempotent)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5, max_batch_size=262_144
    )
    await producer.start()
    try:
        # The first message waits out leader election on the new topic; the clock starts after it.
        await (await producer.send(topic, value=values[0]))
        cpu_before = machine_cpu()["machine_busy"]
        started = time.perf_counter()
        futures = [await producer.send(topic, value=v) for v in values[1:]]
        await asyncio.gather(*futures)
        seconds = time.perf_counter() - started
        return RawFigures(len(values) - 1, seconds, machine_cpu()["machine_busy"] - cpu_before)
    finally:
        await producer.stop()


async def pipe(
    stack: TestStack, source: str, count: int, *, forward_to: str | None, batch: int
) -> RawFigures:
    """Consume `count` messages, COPY each batch into Postgres, optionally produce each on, then commit."""
    group = f"bench-raw-{stack.name}-{'fwd' if forward_to else 'copy'}"
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=stack.bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch,
        isolation_level="read_committed",
    )
    producer = (
        AIOKafkaProducer(bootstrap_servers=stack.bootstrap, enable_idempotence=True, linger_ms=5)
        if forward_to
        else None
    )
    conn = await asyncpg.connect(stack.admin_database_dsn())
    await conn.execute(TABLE_DDL)
    await conn.execute("TRUNCATE bench_raw")
    await consumer.start()
    if producer:
        await producer.start()
    done = 0
    started: float | None = None
    cpu_before = 0.0
    try:
        while done < count:
            batches = await consumer.getmany(timeout_ms=500, max_records=batch)
            if not batches:
                continue
            if started is None:
                started, cpu_before = time.perf_counter(), machine_cpu()["machine_busy"]
            records = [
                (m.topic, m.partition, m.offset, m.key, m.value) for ms in batches.values() for m in ms
            ]
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "bench_raw", records=records, columns=["topic", "part", "off", "key", "payload"]
                )
            if producer and forward_to:
                futures = [await producer.send(forward_to, value=r[4], key=r[3]) for r in records]
                await asyncio.gather(*futures)
            offsets = {tp: OffsetAndMetadata(ms[-1].offset + 1, "") for tp, ms in batches.items()}
            await consumer.commit(offsets)
            done += len(records)
        elapsed = time.perf_counter() - (started or time.perf_counter())
        cpu_s = machine_cpu()["machine_busy"] - cpu_before
    finally:
        await consumer.stop()
        if producer:
            await producer.stop()
        await conn.execute("DROP TABLE IF EXISTS bench_raw")
        await conn.close()
    return RawFigures(done, elapsed, cpu_s)


async def run_raw(stack: TestStack, values: list[bytes], batch: int = 500) -> dict[str, object]:
    """Both raw variants over the same lead messages: COPY only, and COPY plus one produce per message."""
    source, target = stack.topic_prefix + "bench.raw.in", stack.topic_prefix + "bench.raw.out"
    await create_topics_async(stack.bootstrap, [source, target], stack.partitions)
    produced = await produce_all(stack.bootstrap, source, values)
    copy_only = await pipe(stack, source, len(values), forward_to=None, batch=batch)
    forwarding = await pipe(stack, source, len(values), forward_to=target, batch=batch)
    return {
        "messages": len(values),
        "produce_msgs_per_s": round(produced.per_second, 1),
        "copy_msgs_per_s": round(copy_only.per_second, 1),
        "copy_and_produce_msgs_per_s": round(forwarding.per_second, 1),
        # The machine's CPU per message, what a message costs at the least: the pipeline's floor.
        "machine_cpu_us_per_msg": {
            "produce": round(produced.cpu_us_per_message, 2),
            "copy": round(copy_only.cpu_us_per_message, 2),
            "copy_and_produce": round(forwarding.cpu_us_per_message, 2),
        },
        "batch": batch,
    }
