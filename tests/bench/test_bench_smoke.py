"""A tiny benchmark run completes and every section produces figures (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
