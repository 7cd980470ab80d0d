"""Consume the same N messages with aiokafka (getmany + manual commit) and FastStream 0.7.8 (batch,
AckPolicy.MANUAL)."""

import asyncio
import sys
import time
import uuid

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

BOOT = "127.0.0.1:9092"
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
BATCH = 500
PAYLOAD = orjson.dumps(
    {
        "specversion": "1.0",
        "type": "lead.captured",
        "id": "x" * 36,
        "source": "intake",
        "data": {"lead_id": "y" * 36, "email": "a@example.com", "company": "Acme " * 20},
    }
)


async def produce(topic):
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOT)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    await admin.close()
    p = AIOKafkaProducer(bootstrap_servers=BOOT, linger_ms=5, max_batch_size=262144)
    await p.start()
    for i in range(N):
        await p.send(topic, PAYLOAD, key=str(i % 1000).encode())
    await p.flush()
    await p.stop()


async def raw(topic):
    c = AIOKafkaConsumer(
        topic,
        bootstrap_servers=BOOT,
        group_id=f"raw-{uuid.uuid4()}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=BATCH,
    )
    await c.start()
    seen = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while seen < N:
        batches = await c.getmany(timeout_ms=500, max_records=BATCH)
        for msgs in batches.values():
            for m in msgs:
                orjson.loads(m.value)
            seen += len(msgs)
        if batches:
            await c.commit()
    t, cpu = time.perf_counter() - t0, time.process_time() - c0
    await c.stop()
    return t, cpu


async def fast(topic):
    broker = KafkaBroker(BOOT, logger=None)
    done = asyncio.Event()
    state = {"seen": 0}

    @broker.subscriber(
        topic,
        group_id=f"fs-{uuid.uuid4()}",
        batch=True,
        max_records=BATCH,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
    )
    async def handle(body: list[dict], msg: KafkaMessage) -> None:
        state["seen"] += len(body)
        await msg.ack()
        if state["seen"] >= N:
            done.set()

    await broker.connect()
    t0, c0 = time.perf_counter(), time.process_time()
    await broker.start()
    await done.wait()
    t, cpu = time.perf_counter() - t0, time.process_time() - c0
    await broker.stop()
    return t, cpu


async def fast_raw(topic):
    broker = KafkaBroker(BOOT, logger=None)
    done = asyncio.Event()
    state = {"seen": 0}

    async def keep_bytes(msg, original=None):
        return msg.body

    @broker.subscriber(
        topic,
        group_id=f"fsr-{uuid.uuid4()}",
        batch=True,
        max_records=BATCH,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=keep_bytes,
    )
    async def handle(body: list, msg: KafkaMessage) -> None:
        for b in body:
            orjson.loads(b)
        state["seen"] += len(body)
        await msg.ack()
        if state["seen"] >= N:
            done.set()

    await broker.connect()
    t0, c0 = time.perf_counter(), time.process_time()
    await broker.start()
    await done.wait()
    t, cpu = time.perf_counter() - t0, time.process_time() - c0
    await broker.stop()
    return t, cpu


async def main():
    topic = f"fsbench-{uuid.uuid4().hex[:8]}"
    await produce(topic)
    for r in range(ROUNDS):
        order = [("aiokafka", raw), ("faststream", fast), ("fs-bytes", fast_raw)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            t, cpu = await fn(topic)
            print(
                f"round {r} {name:10s} {N / t:9.0f} msg/s wall {t:6.2f} s cpu {cpu:6.2f} s"
                f"  {cpu / N * 1e6:6.1f} cpu-us/msg",
                flush=True,
            )
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOT)
    await admin.start()
    await admin.delete_topics([topic])
    await admin.close()


asyncio.run(main())
