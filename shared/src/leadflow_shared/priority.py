"""Let a process give way to others on a shared host: its CPU niceness, and its autogroup's on Linux."""

from __future__ import annotations

import os
from pathlib import Path

AUTOGROUP = Path("/proc/self/autogroup")


def lower_cpu_priority(nice: int, autogroup: Path = AUTOGROUP) -> list[str]:
    """Run at `nice` or lower priority (never raise it); what was changed, for the log.

    Call it before any thread starts: Linux keeps a niceness per thread, and new threads inherit it.
    """
    changed: list[str] = []
    if nice <= 0:
        return changed
    if os.getpriority(os.PRIO_PROCESS, 0) < nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
        changed.append("process")
    # With autogroups the scheduler first shares the CPU between sessions, so a niceness alone only
    # orders the processes of one session. Only a session leader speaks for its session: a service
    # started from a terminal would otherwise lower the shell's priority too.
    if os.getsid(0) == os.getpid():
        try:
            current = int(autogroup.read_text().split()[-1])
            if current < nice:
                autogroup.write_text(str(nice))
                changed.append("session")
        except (OSError, ValueError, IndexError):
            pass
    return changed
