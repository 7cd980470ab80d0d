"""SIGUSR1's task dump: where each task of a stalled service waits."""

from __future__ import annotations

import asyncio

from leadflow_shared.runtime import awaiting


async def test_a_waiting_task_is_shown_through_every_coroutine_it_awaits() -> None:
    released = asyncio.Event()

    async def commit_offsets() -> None:
        await released.wait()

    async def handle_partition() -> None:
        await commit_offsets()

    task = asyncio.create_task(handle_partition())
    await asyncio.sleep(0)

    chain = [line.rsplit(" ", 1)[1] for line in awaiting(task)]

    assert chain[:3] == ["handle_partition", "commit_offsets", "wait"]
    released.set()
    await task


async def test_a_finished_task_waits_on_nothing() -> None:
    task = asyncio.create_task(asyncio.sleep(0))
    await task

    assert awaiting(task) == []
