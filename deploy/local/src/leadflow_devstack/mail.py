"""A local SMTP sink (aiosmtpd) so nurture's emails go somewhere a developer can read them."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from leadflow_devstack import procs
from leadflow_devstack.paths import StackPaths

SMTP_HOST = "127.0.0.1"
SMTP_PORT = 1025


def maildir(paths: StackPaths) -> Path:
    """Where the sink keeps every message it receives (a Maildir)."""
    return paths.state / "mail"


def start(paths: StackPaths) -> bool:
    """Start the sink unless it runs; True when it was started now."""
    if procs.running_pid(paths.pid("smtp")) is not None:
        return False
    python = str(Path(sys.executable))
    procs.start_detached(
        [
            python,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"{SMTP_HOST}:{SMTP_PORT}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir(paths)),
        ],
        log_file=paths.log("smtp"),
        pid_file=paths.pid("smtp"),
        env={"PATH": "/usr/bin:/bin"},
        cwd=paths.root,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not procs.port_open(SMTP_HOST, SMTP_PORT):
        time.sleep(0.1)
    if not procs.port_open(SMTP_HOST, SMTP_PORT):
        raise procs.StackError(f"smtp sink did not start; see {paths.log('smtp')}")
    return True


def stop(paths: StackPaths) -> bool:
    """Stop the sink; True if it was running."""
    return procs.stop(paths.pid("smtp"))
