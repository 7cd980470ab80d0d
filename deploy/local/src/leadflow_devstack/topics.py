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
        wanted = list(dict.fromkeys(names))
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        created: list[str] = []
        if missing:
            new = [
                NewTopic(name, partitions, replication_factor=1, topic_configs=topic_config(name))
                for name in missing
            ]
            response = await admin.create_topics(new)
            for entry in response.topic_errors:
                topic, code = entry[0], entry[1]
                # Another process may create the same topic between list and create, or the broker's
                # metadata may not list a topic created a moment ago: it exists, so it gets its configs below.
                if code not in (0, TopicAlreadyExistsError.errno):
                    message = entry[2] if len(entry) > 2 else ""
                    raise RuntimeError(f"creating topic {topic} failed with error code {code}: {message}")
                if code == 0:
                    created.append(topic)
        present = [name for name in wanted if name not in created]
        if present:
            await _set_configs(admin, present)
        return created
    finally:
        await admin.close()


async def _set_configs(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    """Give existing topics their retention; a topic the broker refuses it to is an error, not a shrug."""
    responses = await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name, topic_config(name)) for name in names]
    )
    for response in responses:
        # Each resource: (error code, message, resource type, name).
        for code, message, _, name in response.resources:
            if code != 0:
                raise RuntimeError(f"setting the configs of topic {name} failed with code {code}: {message}")


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
