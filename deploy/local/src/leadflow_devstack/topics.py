"""The system's topics, created idempotently with aiokafka's admin client."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from leadflow_shared.contracts.topics import all_topics, topic_config


async def create_topics_async(bootstrap: str, names: list[str], partitions: int = 6) -> list[str]:
    """Create the topics that do not exist yet (one replica each) with their retention, and give existing
    ones theirs; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        present = [name for name in dict.fromkeys(names) if name in existing]
        if present:
            await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name, topic_config(name)) for name in present]
            )
        missing = [name for name in dict.fromkeys(names) if name not in existing]
        if not missing:
            return []
        new = [
            NewTopic(
                name=name, num_partitions=partitions, replication_factor=1, topic_configs=topic_config(name)
            )
            for name in missing
        ]
        response = await admin.create_topics(new)
        created: list[str] = []
        for entry in response.topic_errors:
            topic, code = entry[0], entry[1]
            # Another process may create the same topic between list and create: that is fine.
            if code not in (0, TopicAlreadyExistsError.errno):
                message = entry[2] if len(entry) > 2 else ""
                raise RuntimeError(f"creating topic {topic} failed with error code {code}: {message}")
            if code == 0:
                created.append(topic)
        return created
    finally:
        await admin.close()


def create_topics(bootstrap: str, names: list[str], partitions: int = 6) -> list[str]:
    """Sync wrapper of `create_topics_async`."""
    return asyncio.run(create_topics_async(bootstrap, names, partitions))


async def list_topics_async(bootstrap: str) -> list[str]:
    """The topic names the cluster has, internal ones left out."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if not t.startswith("__"))
    finally:
        await admin.close()


def list_topics(bootstrap: str) -> list[str]:
    """Sync wrapper of `list_topics_async`."""
    return asyncio.run(list_topics_async(bootstrap))


def system_topics(prefix: str = "") -> list[str]:
    """Every topic leadflow uses under a prefix."""
    return all_topics(prefix)
