"""Typed settings: one class per service with its own env prefix; common values fall back to shared names."""

from __future__ import annotations

import json
import os
import re
import sys
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Scope(StrEnum):
    """What a bearer token may do; each scope includes the ones below it."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


SCOPE_RANK = {Scope.READ: 0, Scope.WRITE: 1, Scope.ADMIN: 2}

# Values every service shares; a prefixed variable (INTAKE_KAFKA_BOOTSTRAP_SERVERS) wins over these.
COMMON_ENV = {
    "kafka_bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "topic_prefix": "LEADFLOW_TOPIC_PREFIX",
    "topic_partitions": "LEADFLOW_TOPIC_PARTITIONS",
    "api_tokens": "LEADFLOW_API_TOKENS",
    "log_level": "LEADFLOW_LOG_LEVEL",
    "cors_origins": "LEADFLOW_CORS_ORIGINS",
}


class ServiceSettings(BaseSettings):
    """Settings every service has; subclasses set the env prefix and add their own."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: ClassVar[str]

    database_url: str = Field(
        description="postgresql://role:password@host:port/db for the service's own role"
    )
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    topic_partitions: int = Field(default=6, ge=1, le=1000)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    api_tokens: dict[str, list[Scope]] = Field(default_factory=dict)
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="largest request body accepted on any route (413 beyond it, before auth and parsing)",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="browser origins (scheme://host[:port]) allowed to call the API; none: no CORS headers",
    )
    cors_allow_credentials: bool = Field(
        default=False, description="let browsers send cookies to the allowed origins (never with '*')"
    )
    log_level: str = "INFO"
    otlp_endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://",
        max_length=2000,
        description="OTLP/HTTP base URL of an OpenTelemetry collector (e.g. http://127.0.0.1:4318): spans of"
        " requests and consumed events go there; none: no tracing",
    )
    db_pool_min: int = Field(default=2, ge=1)
    db_pool_max: int = Field(default=10, ge=1)
    consumer_max_records: int = Field(default=500, ge=1, le=10_000)
    consumer_concurrency: int = Field(default=4, ge=1, le=64)
    relay_batch_size: int = Field(default=1000, ge=1, le=50_000)
    relay_poll_interval_s: float = Field(default=0.5, gt=0)
    relay_stall_seconds: float = Field(
        default=60.0,
        gt=0,
        description="readiness fails when outbox rows wait this long and none was published or parked since",
    )
    producer_max_request_size: int = Field(
        default=1_048_576,
        ge=1024,
        description="the producer's largest request; the message limit is this or a smaller topic limit",
    )
    outbox_retention_s: int = Field(default=3600, ge=0)
    # Must outlast the retention of the topics consumed, or a replay from the start would redo old work.
    inbox_retention_s: int = Field(default=14 * 24 * 3600, ge=0)
    shutdown_timeout_s: float = Field(default=20.0, gt=0)
    nice: int = Field(
        default=0,
        ge=0,
        le=19,
        description="CPU niceness to run at (Linux; with autogroups, the whole session's when the process"
        " leads it): workers that share a host with api processes and the database give way to them",
    )
    gc_threshold: tuple[int, int, int] = Field(
        default=(50_000, 20, 20),
        description="Python's garbage collector thresholds (gc.set_threshold), as a JSON list: a batch"
        " allocates hundreds of thousands of short-lived objects, and at Python's (700, 10, 10) the collector"
        " walks the young ones after every 700",
    )
    role: Literal["all", "api", "worker"] = Field(
        default="all",
        description="all: HTTP API, consumers and background loops in one process; api: HTTP API only"
        " (scale it for request latency); worker: consumers and loops (HTTP stays up for health and metrics)",
    )

    @field_validator("gc_threshold")
    @classmethod
    def _collector_runs(cls, value: tuple[int, int, int]) -> tuple[int, int, int]:
        # 0 as the first threshold turns the collector off: cycles would then never be freed.
        if not 100 <= value[0] <= 10_000_000 or not all(1 <= v <= 1_000 for v in value[1:]):
            raise ValueError("wants [young, middle, old]: young 100 to 10000000, the others 1 to 1000")
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("api_tokens")
    @classmethod
    def _tokens_are_long(cls, value: dict[str, list[Scope]]) -> dict[str, list[Scope]]:
        short = [t[:4] + "…" for t in value if len(t) < 16]
        if short:
            raise ValueError(f"tokens must be at least 16 characters long: {', '.join(short)}")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins_as_list(cls, value: Any) -> Any:
        # A JSON list or, easier to write in an env file, origins separated by commas.
        if isinstance(value, str):
            text = value.strip()
            return (
                json.loads(text)
                if text.startswith("[")
                else [o.strip() for o in text.split(",") if o.strip()]
            )
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s?#]+", origin):
                raise ValueError(f"{origin!r} is not an origin: scheme://host[:port], without a path")
        return value

    @model_validator(mode="after")
    def _no_credentials_for_everyone(self) -> Self:
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise ValueError(
                "cors_allow_credentials must not be combined with the '*' origin: name the origins"
            )
        return self

    @property
    def db_schema(self) -> str:
        """The Postgres schema the service owns, named after it."""
        return self.service_name

    def topic(self, base: str) -> str:
        """The topic name under the configured prefix."""
        return self.topic_prefix + base

    @classmethod
    def load(cls) -> Self:
        """Read the environment, falling back to the shared names for common values."""
        prefix = (cls.model_config.get("env_prefix") or "").upper()
        fallbacks: dict[str, Any] = {}
        for field, name in COMMON_ENV.items():
            if (prefix + field.upper()) in os.environ or name not in os.environ:
                continue
            value = os.environ[name]
            # Complex values arrive as JSON, as pydantic-settings expects of prefixed variables too.
            fallbacks[field] = json.loads(value) if value.lstrip().startswith(("{", "[")) else value
        return cls(**fallbacks)

    @classmethod
    def load_or_exit(cls) -> Self:
        """Load the settings or exit with a message naming every missing or invalid value."""
        try:
            return cls.load()
        except ValidationError as exc:
            prefix = (cls.model_config.get("env_prefix") or "").upper()
            lines = [f"{cls.service_name}: invalid configuration"]
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"])
                lines.append(f"  {prefix}{field.upper()}: {err['msg']}")
            print("\n".join(lines), file=sys.stderr)
            raise SystemExit(2) from None
