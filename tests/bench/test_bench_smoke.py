"""Tiny bench runs: one gives every section's figures (no timing asserted); one stopped leaves no service."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leadflow_devstack.testing import TestStack, base_env

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_a_tiny_benchmark_run_prints_the_table_and_writes_figures_for_every_section(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "bench")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "leadflow_bench",
            "--leads=200",
            "--latency-rate=100",
            "--latency-seconds=2",
            "--http-rate=50",
            "--http-seconds=2",
            "--stored-leads=5000",
            "--queries=30",
            "--scaling-leads=100",
            "--scaling-warm-up=20",
            "--replicas=1,2",
            # Funnel cells kept within seconds, not the minute a deployment waits for today to settle.
            "--service-env=QUALIFICATION_FUNNEL_SETTLE_S=1",
            "--service-env=QUALIFICATION_FUNNEL_REFRESH_INTERVAL_S=1",
            f"--results-dir={tmp_path}",
            "--timeout=120",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "leadflow benchmark" in result.stdout
    figures = json.loads(next(tmp_path.glob("*.json")).read_text())

    assert figures["machine"]["cores"] >= 1
    assert figures["raw_pipe"]["copy_msgs_per_s"] > 0
    assert figures["raw_pipe"]["copy_and_produce_msgs_per_s"] > 0
    assert figures["throughput"]["leads_per_s"] > 0
    assert set(figures["throughput"]["per_service_leads_per_s"]) == {
        "intake",
        "qualification",
        "opportunity",
        "nurture",
    }
    assert figures["ratios"]["vs_copy_and_produce"] > 0
    # CPU is counted in ticks of 10 ms, which a tiny run may not fill.
    assert set(figures["raw_pipe"]["machine_cpu_us_per_msg"]) == {"produce", "copy", "copy_and_produce"}
    per_lead = figures["throughput"]["messages_per_lead"]
    # Each lead is captured, then judged: two events produced; those two and its submission handled.
    assert per_lead["produced"] >= 2, per_lead
    assert per_lead["delivered"] >= per_lead["handled"] >= 3, per_lead
    assert figures["latency"]["to_decision_ms"]["count"] > 0
    assert figures["latency"]["to_final_ms"]["p99"] is not None
    assert set(figures["latency"]["to_outcome_ms"]) == {"conversion", "opportunity", "enrolment"}
    assert figures["latency"]["to_outcome_ms"]["conversion"]["count"] > 0
    assert figures["latency"]["to_outcome_ms"]["enrolment"]["count"] > 0
    assert figures["http"]["requests"] > 0
    assert figures["http"]["ack_ms"]["p99"] is not None
    assert figures["http"]["alone"]["requests"] > 0
    by_id = [e for e in figures["queries"]["endpoints"] if e["kind"] == "by id" and e["available"]]
    assert by_id, figures["queries"]["endpoints"]
    assert all(e["ms"]["p99"] is not None for e in figures["queries"]["endpoints"] if e["available"])
    assert all(rss > 0 for rss in figures["resources"]["peak_rss_mb"].values())
    assert figures["resources"]["cpu_s_per_1000_leads"]
    assert set(figures["startup"]["together_s"]) == set(figures["throughput"]["per_service_leads_per_s"])
    assert all(s > 0 for s in figures["startup"]["together_s"].values())
    assert set(figures["startup"]["migrate_s"]) == set(figures["startup"]["together_s"])
    restarts = figures["startup"]["restart"]
    assert all(r["stop_s"] > 0 and r["ready_s"] > 0 for r in restarts.values()), restarts
    assert figures["startup"]["stored_leads"] == 5000
    runs = figures["scaling"]["runs"]
    assert [run["replicas"] for run in runs] == [1, 2]
    assert all(run["leads_per_s"] > 0 for run in runs)
    assert runs[1]["vs_one_replica"] > 0


def _service_children(pid: int) -> list[int]:
    """The `leadflow-* serve` processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"serve" in command and any(b"leadflow-" in part for part in command):
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


def test_a_benchmark_killed_in_the_middle_of_a_run_leaves_no_service_running(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "bench")}
    with (tmp_path / "stdout").open("w") as stdout:
        bench = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leadflow_bench",
                "--leads=20000",
                "--sections=throughput",
                f"--results-dir={tmp_path}",
                "--timeout=120",
            ],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert bench.stderr is not None
        said = []
        for line in bench.stderr:
            said.append(line)
            if "throughput: publishing" in line:
                break
        services = _service_children(bench.pid)
        assert len(services) == 4, "".join(said)

        # No chance to clean up: the services must go all the same.
        bench.kill()
        bench.wait(10)
        deadline = time.monotonic() + 60
        while any(_running(pid) for pid in services) and time.monotonic() < deadline:
            time.sleep(0.2)

    # A killed bench cannot drop its stack: the test does.
    said_stack = next(line for line in said if "provisioning database" in line)
    name = said_stack.split("stack ", 1)[1].split(":", 1)[0]
    env = base_env()
    asyncio.run(
        TestStack(name, env["KAFKA_BOOTSTRAP_SERVERS"], env["LEADFLOW_ADMIN_DATABASE_URL"], {}, {}).destroy()
    )
    assert [pid for pid in services if _running(pid)] == [], "".join(said)
