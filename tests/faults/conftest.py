"""The fault tier's own broker and cluster (crashing them hurts nobody else) and its SMTP sink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from leadflow_devstack.isolated import OwnInfrastructure
from leadflow_devstack.testing import TEST_LOGS, free_port

from .harness import Inbox


@pytest.fixture(scope="session")
def own_infra() -> Iterator[OwnInfrastructure]:
    """A Kafka broker and a PostgreSQL cluster on free ports, in a temporary folder, for the whole tier."""
    infra = OwnInfrastructure.start("faults")
    try:
        yield infra
    finally:
        # The broker's and the postmaster's own logs outlive the tier: a CI failure is read from them.
        infra.stop(keep_logs_in=TEST_LOGS)


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server on a free port, and every message it received."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()
