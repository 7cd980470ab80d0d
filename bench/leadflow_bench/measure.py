"""Figures from samples, processes and the machine: percentiles, RSS and CPU from /proc, machine facts."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentiles(samples_ms: list[float]) -> dict[str, float | int | None]:
    """p50, p95, p99 and max of latencies in milliseconds (None when there are no samples)."""
    if not samples_ms:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"count": len(ordered), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": at(1.0)}


@dataclass(frozen=True)
class ProcessSample:
    """A process's CPU seconds so far, its resident set now and its peak resident set."""

    cpu_s: float
    rss_mb: float
    peak_rss_mb: float


def sample_process(pid: int) -> ProcessSample | None:
    """Read /proc for one process (None once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    kb = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith("Vm")}
    return ProcessSample(cpu, kb.get("VmRSS", 0) / 1024, kb.get("VmHWM", 0) / 1024)


def machine() -> dict[str, object]:
    """CPU model, cores, memory, kernel and Python of this machine."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def git_commit(repo: Path) -> str:
    """The checked-out commit, with '+dirty' when the tree has changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def process_cpu_s(pids: Iterable[int]) -> dict[int, float]:
    """CPU seconds so far of each of these processes that still runs."""
    found: dict[int, float] = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[1].split()
        found[pid] = (int(rest[11]) + int(rest[12])) / CLOCK_TICKS
    return found


def machine_cpu() -> dict[str, float]:
    """CPU seconds so far: the whole machine busy and idle, and all postgres and java (Kafka) processes."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields]
    idle = ticks[3] + ticks[4]
    totals = {"machine_busy": (sum(ticks[:8]) - idle) / CLOCK_TICKS, "machine_idle": idle / CLOCK_TICKS}
    totals.update(postgres=0.0, kafka=0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        name = {"postgres": "postgres", "java": "kafka"}.get(command)
        if name:
            rest = stat.rsplit(")", 1)[1].split()
            totals[name] += (int(rest[11]) + int(rest[12])) / CLOCK_TICKS
    return totals
