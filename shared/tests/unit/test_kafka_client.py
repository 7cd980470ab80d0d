"""With no broker up, the Kafka client's metadata refresh backs off instead of spinning."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiokafka.client import AIOKafkaClient

from leadflow_shared.kafka_client import install_metadata_backoff


async def refreshes_in(seconds: float) -> int:
    """How often a caller that asks again after each failure gets an answer, no broker answering."""
    client = AIOKafkaClient(bootstrap_servers="127.0.0.1:9", retry_backoff_ms=100)
    synchronizer = asyncio.create_task(client._md_synchronizer())
    loop = asyncio.get_running_loop()
    answers, deadline = 0, loop.time() + seconds
    try:
        while loop.time() < deadline:
            assert await client.force_metadata_update() is False
            answers += 1
    finally:
        synchronizer.cancel()
    return answers


async def test_a_caller_that_asks_again_after_each_failed_refresh_gets_one_answer_per_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.CRITICAL, logger="aiokafka")
    install_metadata_backoff()
    install_metadata_backoff()
    # 100 ms of backoff each: about five answers in half a second (unpatched, tens of thousands).
    assert 3 <= await refreshes_in(0.5) <= 7
