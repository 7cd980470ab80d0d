"""Two fixes aiokafka 0.14 lacks, installed by every service at start.

A backoff: aiokafka's client refreshes metadata in one background task that any caller can wake. When no
broker answers, a caller that asks again at once (the producer's sender and the consumer's fetcher both
do) gets the failure back immediately and wakes the task again: tens of thousands of attempts a second, a
core spent and a log line each, for as long as the broker is down. The Java client and kafka-python back
off after a failed update; this does the same.

A broken connection under uvloop: writing to a socket the broker closed raises RuntimeError there, where
asyncio's loop raises an OSError, and aiokafka catches only OSError (aio-libs/aiokafka#1038). Raised in a
consumer's coordination task, it ends that task for good: the consumer answers every poll with
"Unexpected error during coordination" and never consumes again. The fault tier's broker SIGKILL hit it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import errors
from aiokafka.client import AIOKafkaClient
from aiokafka.conn import AIOKafkaConnection, CloseReason

# Marks a function this module put in place of aiokafka's, so installing twice patches once.
_PATCHED = "_leadflow_patched"


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


def install_closed_connection_guard() -> None:
    """Make a write to a connection the broker closed fail as aiokafka expects: a KafkaConnectionError."""
    if getattr(AIOKafkaConnection.send, _PATCHED, False):
        return
    original = AIOKafkaConnection.send

    def send(self: AIOKafkaConnection, request: Any, expect_response: bool = True) -> Any:
        try:
            return original(self, request, expect_response)
        except RuntimeError as exc:
            writer = self._writer
            if writer is not None and not writer.transport.is_closing():
                raise
            self.close(reason=CloseReason.CONNECTION_BROKEN)
            raise errors.KafkaConnectionError(
                f"Connection at {self._host}:{self._port} broken: {exc}"
            ) from exc

    setattr(send, _PATCHED, True)
    send.__wrapped__ = original  # type: ignore[attr-defined]
    AIOKafkaConnection.send = send


def install_client_fixes() -> None:
    """Every fix above, for every aiokafka client of this process."""
    install_metadata_backoff()
    install_closed_connection_guard()
