"""The largest message a service may write: what its topics, the brokers and its own producer accept."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

log = structlog.get_logger(__name__)

TOPIC_LIMIT = "max.message.bytes"
BROKER_LIMIT = "message.max.bytes"


def effective_limit(
    topic_limits: Mapping[str, int], broker_limits: Iterable[int], max_request_size: int
) -> int:
    """The smallest of the topics' limits (the brokers' where a topic has none yet) and the producer's."""
    broker = list(broker_limits)
    return min([*topic_limits.values(), *broker, max_request_size])


def config_values(responses: Sequence[Any], name: str) -> dict[str, int]:
    """A config's value by resource name from DescribeConfigs responses; resources in error are left out."""
    values: dict[str, int] = {}
    for response in responses:
        for error_code, _message, _type, resource, entries in response.resources:
            if error_code:
                continue
            for entry in entries:
                if entry[0] == name and entry[1] is not None:
                    values[resource] = int(entry[1])
    return values


async def message_limit(bootstrap_servers: str, topics: Sequence[str], max_request_size: int) -> int:
    """Read the topics' max.message.bytes, the brokers' message.max.bytes for topics not created yet, and keep
    the smallest with the producer's max_request_size; that alone if the cluster cannot be asked."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="leadflow-limits")
    try:
        await admin.start()
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {TOPIC_LIMIT: None}) for topic in topics]
        )
        topic_limits = config_values(responses, TOPIC_LIMIT)
        broker_limits: dict[str, int] = {}
        if len(topic_limits) < len(set(topics)):
            # A topic created later takes the brokers' default.
            cluster = await admin.describe_cluster()
            brokers = [str(broker["node_id"]) for broker in cluster["brokers"]]
            responses = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.BROKER, node, {BROKER_LIMIT: None}) for node in brokers]
            )
            broker_limits = config_values(responses, BROKER_LIMIT)
    except Exception as exc:
        log.warning(
            "Kafka's message size limits could not be read; the producer's is used",
            error=repr(exc),
            max_request_size=max_request_size,
        )
        return max_request_size
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return effective_limit(topic_limits, broker_limits.values(), max_request_size)
