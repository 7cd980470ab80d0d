"""Schemathesis fuzzes each service's live OpenAPI: no 5xx and no answer outside the documented contract."""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from leadflow_devstack.paths import repo_root
from leadflow_devstack.pytest_plugin import Inbox
from leadflow_devstack.testing import SERVICES, ServiceProcess, TestStack, new_test_stack, services_running

# The module fixture (stack, services, four runs) counts against the first test's timeout.
pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(900)]

CONFIG = Path(__file__).with_name("schemathesis.toml")
# Generated requests over the four services below which the tier has not fuzzed enough to mean much.
MIN_REQUESTS = 10_000
# One service's run may take this long on a loaded 2-core machine before it counts as hung.
RUN_TIMEOUT_S = 720
# How many findings a failing test lists in its message; the report files hold them all.
SHOWN_FINDINGS = 25


@dataclass
class Finding:
    """One distinct failure Schemathesis found: the check, the operation, and the request that shows it."""

    operation: str
    code: str
    title: str
    message: str
    phase: str
    status: int | None
    request: dict[str, Any]

    def key(self) -> tuple[str, str, str, int | None]:
        """What makes two findings the same one."""
        return (self.operation, self.code, self.title, self.status)

    def curl(self) -> str:
        """A command that sends the request again (the token left out)."""
        parts = ["curl", "-X", self.request.get("method", "GET")]
        for name, values in self.request.get("headers", {}).items():
            if name.lower() == "authorization":
                # The recording hides the token; a check that sends a wrong one shows what it sent.
                parts += ["-H", f"{name}: {values[0]}".replace("[Filtered]", "Bearer $TOKEN")]
            elif name.lower() not in (
                "content-length",
                "user-agent",
                "accept-encoding",
                "accept",
                "connection",
            ):
                parts += ["-H", f"{name}: {values[0]}"]
        body = self.request.get("body")
        if body is not None:
            parts += ["--data-binary", body]
        parts.append(self.request.get("uri", ""))
        return shlex.join(parts)

    def describe(self) -> str:
        """The finding as a few lines a reader can act on."""
        first_line = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return (
            f"{self.operation}: {self.code} {self.title} (status {self.status}, {self.phase} phase)"
            + (f"\n    {first_line[:300]}" if first_line else "")
            + f"\n    {self.curl()[:600]}"
        )


@dataclass
class FuzzRun:
    """What one Schemathesis run against one service did and found."""

    service: str
    exit_code: int
    seconds: float
    requests: int
    unanswered: int
    by_status: dict[int, int]
    findings: list[Finding]
    errors: list[str]
    output: Path
    report_dir: Path
    statuses_by_operation: dict[str, dict[int, int]] = field(default_factory=dict)


def _decode(content: dict[str, Any] | None) -> str | None:
    if not content:
        return None
    if "$base64" in content:
        return base64.b64decode(content["$base64"]).decode("utf-8", errors="backslashreplace")
    return str(content.get("string", ""))


def parse_events(path: Path) -> tuple[list[Finding], list[str]]:
    """The distinct failures and the errors in a Schemathesis NDJSON event stream."""
    findings: dict[tuple[str, str, str, int | None], Finding] = {}
    errors: list[str] = []
    for line in path.read_text().splitlines():
        event = json.loads(line)
        if "NonFatalError" in event or "FatalError" in event:
            error = event.get("NonFatalError") or event.get("FatalError")
            info = error.get("info", {}) if isinstance(error, dict) else {}
            label = error.get("label", "") if isinstance(error, dict) else ""
            errors.append(f"{label}: {info.get('title', '')} {info.get('message', '')}".strip())
            continue
        scenario = event.get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario["recorder"]
        for case_id, checks in recorder.get("checks", {}).items():
            interaction = recorder.get("interactions", {}).get(case_id) or {}
            request = dict(interaction.get("request") or {})
            request["body"] = _decode(request.get("body"))
            response = interaction.get("response") or {}
            for check in checks:
                if check["status"] != "failure":
                    continue
                failure = check["failure_info"]["failure"]
                finding = Finding(
                    operation=failure.get("operation") or recorder["label"],
                    code=failure.get("code", ""),
                    title=failure.get("title", check["name"]),
                    message=failure.get("message", ""),
                    phase=scenario["phase"],
                    status=response.get("status_code"),
                    request=request,
                )
                findings.setdefault(finding.key(), finding)
    return sorted(findings.values(), key=lambda f: (*f.key()[:3], f.status or 0)), errors


def run_schemathesis(service: ServiceProcess, token: str, reports: Path) -> subprocess.Popen[bytes]:
    """Start Schemathesis against a service's live OpenAPI with the admin token, the counting hook armed."""
    report_dir = reports / service.service
    report_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "LEADFLOW_FUZZ_TOKEN": token,
        "LEADFLOW_FUZZ_COUNTS_FILE": str(report_dir / "counts.json"),
        "PYTHONPATH": os.pathsep.join([str(repo_root()), os.environ.get("PYTHONPATH", "")]),
        "NO_COLOR": "1",
    }
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"{service.url}/openapi.json",
        "--report",
        "ndjson,junit",
        "--report-dir",
        str(report_dir),
        "--report-ndjson-path",
        str(report_dir / "events.ndjson"),
        "--report-junit-path",
        str(report_dir / "junit.xml"),
    ]
    with open(report_dir / "output.txt", "wb") as output:
        return subprocess.Popen(
            command,
            env=env,
            cwd=repo_root(),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def wait_all(running: dict[str, subprocess.Popen[bytes]], started: float) -> dict[str, float]:
    """Seconds from the start until each run exited; a run still going after the timeout is killed."""
    finished: dict[str, float] = {}
    while len(finished) < len(running):
        for name, process in running.items():
            if name not in finished and process.poll() is not None:
                finished[name] = time.monotonic() - started
        if time.monotonic() - started > RUN_TIMEOUT_S:
            for name, process in running.items():
                if name not in finished:
                    process.kill()
                    process.wait(10)
                    finished[name] = time.monotonic() - started
        time.sleep(0.2)
    return finished


def collect(service: str, process: subprocess.Popen[bytes], seconds: float, reports: Path) -> FuzzRun:
    """Read what one finished run wrote."""
    exit_code = process.returncode
    report_dir = reports / service
    counts_file = report_dir / "counts.json"
    counts: dict[str, Any] = {"answered": [], "unanswered": {}}
    if counts_file.exists():
        counts = json.loads(counts_file.read_text())
    by_status: dict[int, int] = {}
    by_operation: dict[str, dict[int, int]] = {}
    for row in counts["answered"]:
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["count"]
        by_operation.setdefault(row["operation"], {})[row["status"]] = row["count"]
    events = report_dir / "events.ndjson"
    findings, errors = parse_events(events) if events.exists() else ([], ["no NDJSON report was written"])
    return FuzzRun(
        service=service,
        exit_code=exit_code,
        seconds=round(seconds, 1),
        requests=sum(by_status.values()),
        unanswered=sum(counts["unanswered"].values()),
        by_status=dict(sorted(by_status.items())),
        findings=findings,
        errors=errors,
        output=report_dir / "output.txt",
        report_dir=report_dir,
        statuses_by_operation=by_operation,
    )


@pytest_asyncio.fixture(scope="module")
async def fuzz_stack() -> AsyncIterator[TestStack]:
    """A stack of its own: the fuzzed rows and events never reach another tier's database or topics."""
    stack = new_test_stack("fz")
    await stack.create()
    yield stack
    await stack.destroy()


@dataclass
class FuzzReport:
    """The four runs, made at once, and how long they took together."""

    runs: dict[str, FuzzRun]
    seconds: float
    report_dir: Path

    @property
    def requests(self) -> int:
        """Requests sent to the four services."""
        return sum(run.requests for run in self.runs.values())

    def summary(self) -> str:
        """The figures, one line per service and one for the whole."""
        lines = [
            f"fuzz {name}: {run.requests} requests ({run.unanswered} unanswered) in {run.seconds} s,"
            f" {len(run.findings)} distinct findings, statuses {run.by_status}"
            for name, run in self.runs.items()
        ]
        lines.append(
            f"fuzz total: {self.requests} requests in {self.seconds} s; reports in {self.report_dir}"
        )
        return "\n".join(lines)


@pytest.fixture(scope="module")
def fuzz_report(fuzz_stack: TestStack, smtp_sink: tuple[int, Inbox]) -> Iterator[FuzzReport]:
    """The four services as processes, each fuzzed by its own Schemathesis run, the four at once."""
    extra = {
        "intake": {
            "INTAKE_GOOGLE_ADS_KEY": fuzz_stack.webhook_secret,
            "INTAKE_SALESFORCE_WEB_TO_LEAD_SECRET": fuzz_stack.webhook_secret,
        },
        # Fuzzed leads may be enrolled and mailed: to the test's own SMTP sink, never to a real port 25.
        "nurture": {"NURTURE_SMTP_HOST": "127.0.0.1", "NURTURE_SMTP_PORT": str(smtp_sink[0])},
    }
    reports = fuzz_stack.logs / f"{fuzz_stack.name}-fuzz"
    token = fuzz_stack.tokens["admin"]
    with services_running(fuzz_stack, extra) as processes:
        started = time.monotonic()
        running = {name: run_schemathesis(processes[name], token, reports) for name in SERVICES}
        finished = wait_all(running, started)
        runs = {name: collect(name, process, finished[name], reports) for name, process in running.items()}
        yield FuzzReport(runs=runs, seconds=round(time.monotonic() - started, 1), report_dir=reports)


def test_the_fuzzing_sends_at_least_ten_thousand_requests_over_the_four_services(
    fuzz_report: FuzzReport, capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():
        print("\n" + fuzz_report.summary())
    assert fuzz_report.requests >= MIN_REQUESTS, fuzz_report.summary()
    for name, run in fuzz_report.runs.items():
        assert run.unanswered == 0, f"{name} left requests unanswered:\n{fuzz_report.summary()}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_answers_every_fuzzed_request_without_a_server_error_or_a_contract_failure(
    fuzz_report: FuzzReport, service: str
) -> None:
    run = fuzz_report.runs[service]
    assert not run.errors, f"{service}: Schemathesis could not test everything:\n" + "\n".join(run.errors)
    shown = "\n".join(f.describe() for f in run.findings[:SHOWN_FINDINGS])
    more = len(run.findings) - SHOWN_FINDINGS
    if run.findings:
        pytest.fail(
            f"{service}: {len(run.findings)} distinct findings in {run.requests} requests"
            f" (all of them in {run.output} and {run.report_dir / 'events.ndjson'}):\n{shown}"
            + (f"\n... and {more} more" if more > 0 else ""),
            pytrace=False,
        )
    assert run.exit_code == 0, f"{service}: Schemathesis exited {run.exit_code}; see {run.output}"
