"""FastStream 0.7.8 batch + AckPolicy.MANUAL: is a batch whose handler raised ever delivered again, and
where is the committed offset?"""

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

BOOT = "127.0.0.1:9092"
N = 2000


async def main():
    topic = f"fssem-{uuid.uuid4().hex[:8]}"
    group = f"fssem-{uuid.uuid4()}"
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOT)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    p = AIOKafkaProducer(bootstrap_servers=BOOT)
    await p.start()
    for i in range(N):
        await p.send(topic, str(i).encode())
    await p.flush()
    await p.stop()
    broker = KafkaBroker(BOOT, logger=None)
    seen = []
    calls = {"n": 0}

    @broker.subscriber(
        topic,
        group_id=group,
        batch=True,
        max_records=500,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
    )
    async def handle(body: list[int], msg: KafkaMessage) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("first batch fails")
        seen.extend(body)
        await msg.ack()

    await broker.start()
    await asyncio.sleep(8)
    await broker.stop()
    c = AIOKafkaConsumer(bootstrap_servers=BOOT, group_id=group)
    await c.start()
    committed = await c.committed(TopicPartition(topic, 0))
    await c.stop()
    missing = sorted(set(range(N)) - set(seen))
    print(
        f"handler calls {calls['n']}, delivered ok {len(seen)} of {N},"
        f" never handled: {len(missing)} (first {missing[:3]}), committed offset {committed}"
    )
    await admin.delete_topics([topic])
    await admin.close()


asyncio.run(main())
