"""The environment contract the services read, generated once into `.leadflow/env` and reused afterwards."""

from __future__ import annotations

import json
import os
import secrets
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from leadflow_devstack.paths import StackPaths, default_paths

KAFKA_BOOTSTRAP = "127.0.0.1:9092"
PG_HOST = "127.0.0.1"
PG_PORT = 5432
ADMIN_ROLE = "leadflow"
DATABASE = "leadflow"
TOPIC_PARTITIONS = 6
# Intake refuses every delivery of a webhook source whose secret is unset, so the local stack sets them all.
INTAKE_WEBHOOK_SECRETS: tuple[str, ...] = (
    "INTAKE_GOOGLE_ADS_KEY",
    "INTAKE_META_APP_SECRET",
    "INTAKE_META_VERIFY_TOKEN",
    "INTAKE_LINKEDIN_CLIENT_SECRET",
    "INTAKE_MAILCHIMP_SECRET",
    "INTAKE_ACTIVECAMPAIGN_SECRET",
    "INTAKE_SALESFORCE_WEB_TO_LEAD_SECRET",
    "INTAKE_HUBSPOT_CLIENT_SECRET",
    "INTAKE_ZOOM_SECRET_TOKEN",
)


@dataclass(frozen=True)
class Service:
    """One leadflow service as the stack runs it."""

    name: str
    port: int

    @property
    def prefix(self) -> str:
        """The prefix of its environment variables."""
        return self.name.upper()

    @property
    def command(self) -> str:
        """Its console script."""
        return f"leadflow-{self.name}"

    @property
    def base_url(self) -> str:
        """Where its HTTP API answers."""
        return f"http://127.0.0.1:{self.port}"


SERVICES: tuple[Service, ...] = (
    Service("intake", 8001),
    Service("qualification", 8002),
    Service("opportunity", 8003),
    Service("nurture", 8004),
)
SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)


def _password() -> str:
    return secrets.token_urlsafe(24)


def database_url(role: str, password: str, dbname: str) -> str:
    """A libpq URL for the local cluster (no TLS: it is loopback, and TLS costs every round trip)."""
    return f"postgresql://{role}:{password}@{PG_HOST}:{PG_PORT}/{dbname}?sslmode=disable"


def password_from_url(url: str) -> str:
    """The password part of a `postgresql://user:pw@host/db` URL."""
    credentials = url.split("://", 1)[1].rsplit("@", 1)[0]
    return credentials.split(":", 1)[1]


def generate_env(token: str | None = None, passwords: Mapping[str, str] | None = None) -> dict[str, str]:
    """Build a fresh contract with random passwords, webhook secrets and API token (given ones are kept)."""
    pw = {name: _password() for name in (ADMIN_ROLE, *SERVICE_NAMES)}
    pw.update(passwords or {})
    token = token or secrets.token_urlsafe(32)
    env: dict[str, str] = {
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA_BOOTSTRAP,
        "LEADFLOW_TOPIC_PREFIX": "",
        "LEADFLOW_TOPIC_PARTITIONS": str(TOPIC_PARTITIONS),
        "LEADFLOW_ADMIN_DATABASE_URL": database_url(ADMIN_ROLE, pw[ADMIN_ROLE], "postgres"),
    }
    for service in SERVICES:
        env[f"{service.prefix}_DATABASE_URL"] = database_url(service.name, pw[service.name], DATABASE)
    for service in SERVICES:
        env[f"{service.prefix}_HTTP_HOST"] = "127.0.0.1"
        env[f"{service.prefix}_HTTP_PORT"] = str(service.port)
    for key in INTAKE_WEBHOOK_SECRETS:
        env[key] = secrets.token_urlsafe(24)
    env["NURTURE_SMTP_HOST"] = "127.0.0.1"
    env["NURTURE_SMTP_PORT"] = "1025"
    env["NURTURE_PUBLIC_URL"] = "http://127.0.0.1:8004"
    env["NURTURE_UNSUBSCRIBE_SECRET"] = secrets.token_urlsafe(32)
    env["LEADFLOW_API_TOKENS"] = json.dumps({token: ["read", "write", "admin"]}, separators=(",", ":"))
    return env


def parse_env(text: str) -> dict[str, str]:
    """Read `KEY=value` lines; values are taken raw, up to the end of the line."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        env[key.strip()] = value
    return env


def render_env(env: Mapping[str, str]) -> str:
    """Write `KEY=value` lines, raw (not shell-quoted: use `leadflow-stack env --export` for a shell)."""
    header = "# leadflow local stack: generated once by leadflow-stack, reused afterwards. Keep it secret.\n"
    return header + "".join(f"{key}={value}\n" for key, value in env.items())


def export_lines(env: Mapping[str, str]) -> str:
    """Shell `export KEY='value'` lines, safe to eval."""
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in env.items())


def api_token(env: Mapping[str, str]) -> str:
    """The one API token of the contract."""
    tokens: dict[str, list[str]] = json.loads(env["LEADFLOW_API_TOKENS"])
    return next(iter(tokens))


def role_passwords(env: Mapping[str, str]) -> dict[str, str]:
    """Each service role's password, read from its database URL."""
    return {s.name: password_from_url(env[f"{s.prefix}_DATABASE_URL"]) for s in SERVICES}


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def ensure_env(paths: StackPaths | None = None) -> dict[str, str]:
    """Load `.leadflow/env`, creating it (and `.leadflow/token`) on first use; missing keys are added."""
    paths = paths or default_paths()
    existing = parse_env(paths.env_file.read_text()) if paths.env_file.exists() else {}
    token = api_token(existing) if "LEADFLOW_API_TOKENS" in existing else None
    kept_passwords: dict[str, str] = {}
    if "LEADFLOW_ADMIN_DATABASE_URL" in existing:
        kept_passwords[ADMIN_ROLE] = password_from_url(existing["LEADFLOW_ADMIN_DATABASE_URL"])
    for service in SERVICES:
        url = existing.get(f"{service.prefix}_DATABASE_URL")
        if url:
            kept_passwords[service.name] = password_from_url(url)
    env = generate_env(token, kept_passwords)
    env.update(existing)
    if env != existing or not paths.env_file.exists():
        _write_secret(paths.env_file, render_env(env))
    token_text = api_token(env) + "\n"
    if not paths.token_file.exists() or paths.token_file.read_text() != token_text:
        _write_secret(paths.token_file, token_text)
    return env


def load_env(paths: StackPaths | None = None) -> dict[str, str]:
    """Read the contract from `.leadflow/env` (it must exist: run `leadflow-stack infra` first)."""
    paths = paths or default_paths()
    if not paths.env_file.exists():
        raise FileNotFoundError(
            f"{paths.env_file} is missing: run `leadflow-stack infra` or `make infra` first"
        )
    return parse_env(paths.env_file.read_text())
