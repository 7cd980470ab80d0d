"""The Kafka client's fixes: its metadata refresh backs off with no broker up, and a closed connection fails
as a connection error under uvloop."""

from __future__ import annotations

import asyncio
import logging

import pytest
import uvloop
from aiokafka.client import AIOKafkaClient
from aiokafka.conn import AIOKafkaConnection
from aiokafka.errors import KafkaConnectionError
from aiokafka.protocol.admin import ApiVersionRequest

from leadflow_shared.kafka_client import install_closed_connection_guard, install_metadata_backoff


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


async def _send_after_the_broker_closed() -> BaseException | None:
    """What a connection's send raises once the broker end closed the socket, under this loop."""

    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(close_at_once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.read()  # the broker's end is gone
    writer.close()  # as aiokafka's reader task does when it sees the end
    await asyncio.sleep(0.05)
    conn = AIOKafkaConnection("127.0.0.1", port)
    conn._writer = writer
    try:
        await conn.send(ApiVersionRequest())
    except Exception as exc:
        return exc
    finally:
        server.close()
    return None


def test_under_uvloop_a_send_on_a_connection_the_broker_closed_fails_as_a_connection_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install_closed_connection_guard()
    install_closed_connection_guard()
    guarded = uvloop.run(_send_after_the_broker_closed())
    monkeypatch.setattr(AIOKafkaConnection, "send", AIOKafkaConnection.send.__wrapped__)
    unguarded = uvloop.run(_send_after_the_broker_closed())

    # uvloop's own error (aio-libs/aiokafka#1038), which would end a consumer's coordination for good.
    assert isinstance(unguarded, RuntimeError)
    assert isinstance(guarded, KafkaConnectionError)
