"""Service-test fixtures: nurture's pool on the session database, and a real local SMTP server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller

from leadflow_devstack.testing import TestStack, free_port
from leadflow_shared.db import create_pool
from leadflow_shared.uow import UnitOfWorkFactory


@dataclass
class Inbox:
    """What the local SMTP server received."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        """Messages addressed to one recipient."""
        return [m for m in self.messages if address in str(m["To"])]


@dataclass
class SmtpServer:
    """A running aiosmtpd server and its inbox."""

    port: int
    inbox: Inbox


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on a free local port."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port, inbox)
    finally:
        controller.stop()


@pytest_asyncio.fixture
async def uows(service_stack: TestStack) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work on nurture's schema, with a clean slate of enrollments."""
    pool = await create_pool(service_stack.dsn("nurture"), "nurture", 2, 8)
    await pool.execute("TRUNCATE touches, enrollments, consent, archives, outbox")
    try:
        yield UnitOfWorkFactory(pool, "nurture", service_stack.topic_prefix)
    finally:
        await asyncio.wait_for(pool.close(), 10)


pytestmark = pytest.mark.service
