"""A backoff aiokafka lacks: a failed metadata update waits `retry_backoff_ms` before the next one.

aiokafka 0.14's client refreshes metadata in one background task that any caller can wake. When no broker
answers, a caller that asks again at once (the producer's sender and the consumer's fetcher both do) gets
the failure back immediately and wakes the task again: tens of thousands of attempts a second, a core
spent and a log line each, for as long as the broker is down. The Java client and kafka-python back off
after a failed update; this does the same.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.client import AIOKafkaClient

_PATCHED = "_leadflow_backoff"


def install_metadata_backoff() -> None:
    """Make every aiokafka client of this process wait its retry backoff after a failed metadata update."""
    if getattr(AIOKafkaClient._metadata_update, _PATCHED, False):
        return
    original = AIOKafkaClient._metadata_update

    async def metadata_update(self: AIOKafkaClient, cluster_metadata: Any, topics: Any) -> bool:
        updated: bool = await original(self, cluster_metadata, topics)
        if not updated:
            await asyncio.sleep(self._retry_backoff)
        return updated

    setattr(metadata_update, _PATCHED, True)
    AIOKafkaClient._metadata_update = metadata_update
