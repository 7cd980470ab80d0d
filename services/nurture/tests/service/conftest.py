"""Service-test fixtures: nurture's pool on the session database, and a real local SMTP server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller

from leadflow_devstack.testing import TestStack, api_client, free_port
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.unsubscribe import UnsubscribeLinks
from leadflow_nurture.entrypoints import http
from leadflow_nurture.settings import NurtureSettings
from leadflow_shared.db import create_pool
from leadflow_shared.uow import UnitOfWorkFactory


@dataclass
class Inbox:
    """What the local SMTP server received, and how it treats chosen recipients."""

    messages: list[Message] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    mail_options: list[list[str]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    hang: set[str] = field(default_factory=set)
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            self.refused.append(address)
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hang.intersection(envelope.rcpt_tos):
            # A server that takes the message and never answers, until the test ends.
            await asyncio.get_running_loop().run_in_executor(None, self.released.wait, 30)
            return "451 gave up waiting"
        self.raw.append(envelope.original_content or envelope.content)
        self.mail_options.append(list(envelope.mail_options))
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


@contextmanager
def running_smtp(**options: Any) -> Iterator[SmtpServer]:
    """A real SMTP server on a free local port (aiosmtpd options, e.g. enable_SMTPUTF8=False)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer(port, inbox)
    finally:
        inbox.released.set()
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on a free local port, offering SMTPUTF8 (aiosmtpd's Controller default)."""
    with running_smtp() as server:
        yield server


@pytest.fixture
def ascii_smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server that does not offer SMTPUTF8."""
    with running_smtp(enable_SMTPUTF8=False) as server:
        yield server


@pytest_asyncio.fixture
async def uows(service_stack: TestStack) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work on nurture's schema, with a clean slate of enrollments."""
    pool = await create_pool(service_stack.dsn("nurture"), "nurture", 2, 8)
    await pool.execute(
        "TRUNCATE touches, enrollments, consent, archives, outbox, undeliverable, suppressions"
    )
    try:
        yield UnitOfWorkFactory(pool, "nurture", service_stack.topic_prefix)
    finally:
        await asyncio.wait_for(pool.close(), 10)


LINKS = UnsubscribeLinks("https://nurture.orbital-bakery.example", b"orbital-bakery-signing-secret-42!")
"""How the service tests sign unsubscribe links."""


def state() -> dict[str, Any]:
    """What nurture's routes read from the service definition."""
    return {"tracks": TrackStore(), "unsubscribe_links": LINKS}


@pytest_asyncio.fixture
async def api(service_stack: TestStack, uows: UnitOfWorkFactory) -> AsyncIterator[httpx.AsyncClient]:
    """Nurture's routes in-process with a write token."""
    async with api_client(
        service_stack, NurtureSettings, [http.router], uows.pool, "write", state()
    ) as client:
        yield client


@pytest_asyncio.fixture
async def public(service_stack: TestStack, uows: UnitOfWorkFactory) -> AsyncIterator[httpx.AsyncClient]:
    """Nurture's routes in-process, called as a mail client calls them: without any bearer token."""
    routers = [http.router, http.unsubscribe_router]
    async with api_client(service_stack, NurtureSettings, routers, uows.pool, "read", state()) as client:
        del client.headers["Authorization"]
        yield client


pytestmark = pytest.mark.service
