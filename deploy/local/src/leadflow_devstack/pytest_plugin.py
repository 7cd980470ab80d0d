"""Pytest fixtures for service and end-to-end tests on the real Kafka and Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from leadflow_devstack.testing import (
    ConsoleStack,
    ServiceProcess,
    TestStack,
    console_running,
    free_port,
    new_test_stack,
    services_running,
)


def empty_tiers(tiers: Iterable[Path], collected: Iterable[Path]) -> list[Path]:
    """The tier folders no collected test lives in."""
    found = [path.resolve() for path in collected]
    return [tier for tier in tiers if not any(path.is_relative_to(tier.resolve()) for path in found)]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fail the session when a folder named on the command line (a tier of `make test`) holds no test:
    a tier that lost its tests to a bad import or a rename would otherwise pass unnoticed."""
    tiers = [Path(arg) for arg in config.args if Path(arg).is_dir()]
    empty = empty_tiers(tiers, (item.path for item in items))
    if empty:
        raise pytest.UsageError(f"no test collected in: {', '.join(str(tier) for tier in empty)}")


@pytest_asyncio.fixture(scope="session")
async def test_stack() -> AsyncIterator[TestStack]:
    """The end-to-end tests' isolated database and topic prefix, every schema migrated."""
    stack = new_test_stack("t")
    await stack.create()
    yield stack
    await stack.destroy()


@pytest_asyncio.fixture(scope="module")
async def browser_stack() -> AsyncIterator[TestStack]:
    """The browser tier's own database and topic prefix, for one module: its services allow the console's
    origin, and stop before the next tier starts."""
    stack = new_test_stack("br")
    await stack.create()
    yield stack
    await stack.destroy()


@pytest_asyncio.fixture(scope="session")
async def service_stack() -> AsyncIterator[TestStack]:
    """The service tests' own database and topic prefix: what they configure never reaches e2e services."""
    stack = new_test_stack("s")
    await stack.create()
    yield stack
    await stack.destroy()


class Inbox:
    """What a local SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        """aiosmtpd's hook: keep the message."""
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = message_from_bytes(raw, policy=default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server on a free local port, and what it received."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def running_services(
    test_stack: TestStack, smtp_sink: tuple[int, Inbox]
) -> Iterator[dict[str, ServiceProcess]]:
    """The four services as processes; intake knows the webhook secrets, nurture mails the sink,
    qualification sweeps for stale leads often."""
    extra = {
        "nurture": {"NURTURE_SMTP_HOST": "127.0.0.1", "NURTURE_SMTP_PORT": str(smtp_sink[0])},
        # Sweeps several times a second: a test's lead, stale after 2 s and unresponsive after 6 s, is
        # then always seen flagged in between; every 5 s one sweep could do both.
        "qualification": {"QUALIFICATION_SWEEP_INTERVAL_S": "0.5"},
    }
    with services_running(test_stack, extra) as processes:
        yield processes


@pytest.fixture(scope="module")
def console_stack(browser_stack: TestStack, smtp_sink: tuple[int, Inbox]) -> Iterator[ConsoleStack]:
    """The browser tier's four services as processes, allowing the console's origin, and its server."""
    extra = {"nurture": {"NURTURE_SMTP_HOST": "127.0.0.1", "NURTURE_SMTP_PORT": str(smtp_sink[0])}}
    with console_running(browser_stack, extra) as console:
        yield console
