"""A running service's entrance and logs: huge bodies refused unread, errors logged without secrets."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from leadflow_devstack.postgres import provision_database_async
from leadflow_devstack.testing import ServiceProcess, TestStack, migrate, new_test_stack

pytestmark = pytest.mark.service

VENDOR_SECRETS = {
    "INTAKE_META_APP_SECRET": "meta-app-secret-for-the-log-test",
    "INTAKE_GOOGLE_ADS_KEY": "google-ads-key-for-the-log-test",
    "INTAKE_ZOOM_SECRET_TOKEN": "zoom-secret-for-the-log-test",
}
SCRIPT = Path(__file__).with_name("failing_intake.py")
HUNDRED_MB = 100 * 1024 * 1024
CONSOLE = "http://127.0.0.1:8090"


class FailingIntake(ServiceProcess):
    """Intake served by failing_intake.py: the real composition root, logging and settings."""

    def command(self) -> list[str]:
        """The script instead of the console script."""
        return [sys.executable, str(SCRIPT)]


@pytest_asyncio.fixture(scope="module")
async def intake_stack() -> AsyncIterator[TestStack]:
    """A database of its own with intake migrated: the process's relay touches no other test's outbox."""
    stack = new_test_stack("edge")
    await provision_database_async(stack.admin_dsn, stack.database, stack.passwords)
    migrate("intake", stack.service_env("intake", 1))
    yield stack
    await stack.destroy()


@pytest.fixture(scope="module")
def intake(intake_stack: TestStack) -> Iterator[FailingIntake]:
    env = {**VENDOR_SECRETS, "INTAKE_ROLE": "api", "INTAKE_CORS_ORIGINS": CONSOLE}
    process = FailingIntake(intake_stack, "intake", env)
    process.log_file.unlink(missing_ok=True)
    process.start()
    yield process
    process.stop()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def post_huge(port: int, *, chunked: bool) -> tuple[bytes, int]:
    """POST 100 MB without a token; the answer's first bytes and how many body bytes went out before it."""
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUNDRED_MB}"
    head = f"POST /v1/leads HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json\r\n{length}\r\n\r\n"
    chunk = b"x" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        sock.setblocking(False)
        while sent < HUNDRED_MB:
            try:
                answer = sock.recv(4096)
            except BlockingIOError:
                answer = b""
            if answer:
                return read_rest(sock, answer), sent
            try:
                sock.sendall(frame)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                time.sleep(0.001)
                continue
            sent += len(chunk)
        sock.setblocking(True)
        return read_rest(sock, sock.recv(4096)), sent


def read_rest(sock: socket.socket, answer: bytes) -> bytes:
    """The whole answer: its head and body can arrive in separate segments."""
    sock.settimeout(5)
    while True:
        head, _, body = answer.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            None,
        )
        if length is not None and len(body) >= length:
            return answer
        try:
            more = sock.recv(4096)
        except (TimeoutError, ConnectionResetError):
            return answer
        if not more:
            return answer
        answer += more


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_unauthenticated_100_mb_post_is_refused_at_once_without_being_buffered(
    intake: FailingIntake, chunked: bool
) -> None:
    assert intake.process is not None
    before = rss_kib(intake.process.pid)
    started = time.monotonic()
    answer, sent = post_huge(intake.port, chunked=chunked)
    elapsed = time.monotonic() - started
    grown_kib = rss_kib(intake.process.pid) - before
    print(
        f"100 MB POST ({'chunked' if chunked else 'content-length'}): 413 after {elapsed:.3f}s, "
        f"{sent} body bytes sent, RSS +{grown_kib} KiB"
    )
    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"detail":"request body exceeds 1048576 bytes"' in answer
    assert sent < 8 * 1024 * 1024
    assert grown_kib < 8 * 1024
    assert elapsed < 5


LEAD = '{"first_name": "Dana", "last_name": "Kovacs", "email": "dana@acme-robotics.example", %s}'
OUT_OF_BOUNDS = {
    "depth": ('"custom_fields": {"a": ' + "[" * 40 + "]" * 40 + "}", "nested deeper than 32 levels"),
    "int-2^64": (
        '"custom_fields": {"employees": 18446744073709551616}',
        "integer outside the signed 64-bit range",
    ),
    "nul": ('"company": "Acme\\u0000 Robotics"', "string contains a NUL character (\\u0000)"),
    "lone-surrogate": ('"company": "Acme \\ud83e"', "string contains a lone surrogate (\\ud83e)"),
}


@pytest.mark.parametrize("scope", [None, "write"], ids=["unauthenticated", "authenticated"])
@pytest.mark.parametrize("case", list(OUT_OF_BOUNDS))
def test_a_lead_submission_out_of_json_bounds_is_a_422_never_a_202_or_500(
    intake: FailingIntake, intake_stack: TestStack, case: str, scope: str | None
) -> None:
    fields, message = OUT_OF_BOUNDS[case]
    headers = {"Content-Type": "application/json"}
    if scope:
        headers["Authorization"] = f"Bearer {intake_stack.tokens[scope]}"
    response = httpx.post(f"{intake.url}/v1/leads", content=(LEAD % fields).encode(), headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["message"] == message


def test_a_lead_submission_sent_as_a_form_is_a_415(intake: FailingIntake, intake_stack: TestStack) -> None:
    response = httpx.post(
        f"{intake.url}/v1/leads",
        data={"first_name": "Dana", "email": "dana@acme-robotics.example"},
        headers={"Authorization": f"Bearer {intake_stack.tokens['write']}"},
    )
    assert response.status_code == 415
    assert response.json() == {
        "detail": "content type must be application/json, not application/x-www-form-urlencoded"
    }


def test_a_running_service_answers_the_preflight_of_its_configured_origin_only(intake: FailingIntake) -> None:
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-correlation-id",
    }
    allowed = httpx.options(f"{intake.url}/v1/leads", headers={**asked, "Origin": CONSOLE})
    stranger = httpx.options(f"{intake.url}/v1/leads", headers={**asked, "Origin": "https://evil.example"})
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == CONSOLE
    assert "x-correlation-id" in allowed.headers["access-control-allow-headers"].lower()
    assert stranger.status_code == 400
    assert not [h for h in stranger.headers if h.startswith("access-control-")]


def test_intake_takes_a_csv_upload_over_the_general_limit_but_not_a_webhook_body_over_it(
    intake: FailingIntake, intake_stack: TestStack
) -> None:
    rows = "".join(f"lise.{n}@kernphysik.example;Lise;Meitner {n};Kernphysik GmbH\n" for n in range(40_000))
    csv = ("E-Mail;Vorname;Nachname;Firma\n" + rows).encode()
    assert len(csv) > 2 * 1_048_576
    upload = httpx.post(
        f"{intake.url}/v1/imports",
        files={"file": ("messe.csv", csv, "text/csv")},
        headers={"Authorization": f"Bearer {intake_stack.tokens['write']}"},
        timeout=30,
    )
    assert upload.status_code == 202, upload.text
    webhook = httpx.post(
        f"{intake.url}/v1/webhooks/salesforce-web-to-lead",
        content=b"last_name=" + b"x" * 1_048_576,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert webhook.status_code == 413
    assert webhook.json() == {"detail": "request body exceeds 1048576 bytes"}


def test_an_unhandled_error_is_logged_without_any_configured_secret_or_frame_locals(
    intake: FailingIntake, intake_stack: TestStack
) -> None:
    token = intake_stack.tokens["admin"]
    response = httpx.get(f"{intake.url}/v1/fail", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    intake.stop()

    log = intake.log_file.read_text()
    assert '"message":"unhandled error"' in log
    assert "ConnectionError" in log
    assert '"name":"fail"' in log
    secrets = [*intake_stack.tokens.values(), intake_stack.passwords["intake"], *VENDOR_SECRETS.values()]
    leaked = [secret for secret in secrets if secret in log]
    assert leaked == []
    assert '"locals"' not in log
