"""Nurture settings (env prefix NURTURE_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from leadflow_shared.settings import ServiceSettings


class NurtureSettings(ServiceSettings):
    """Everything nurture reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "nurture"

    http_port: int = Field(default=8004, ge=1, le=65535)
    scheduler_poll_interval_s: float = Field(default=1.0, gt=0, description="how often the worker looks")
    scheduler_batch_size: int = Field(default=100, ge=1, le=5000, description="touches claimed per round")
    scheduler_retry_delay_s: float = Field(
        default=60.0, ge=0, description="wait after a failed send; doubles with each further failed attempt"
    )
    scheduler_max_retry_delay_s: float = Field(
        default=3600.0, ge=0, description="the longest wait between tries"
    )
    scheduler_max_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description="attempts of a touch (timeouts, 4xx answers) before it fails for good",
    )
    scheduler_enabled: bool = True
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_use_tls: bool = False
    smtp_start_tls: bool = False
    smtp_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="bounds the connection and every SMTP command, so each email"
    )
    sender_email: str = "hello@leadflow.example"
    sender_name: str = "leadflow"
    unsubscribe_url: str = Field(
        default="https://leadflow.example/unsubscribe?lead=$lead_id",
        description="one-click unsubscribe link; $lead_id is replaced",
    )
    unsubscribe_mailto: str | None = None

    @field_validator("unsubscribe_url", "unsubscribe_mailto")
    @classmethod
    def _header_safe(cls, value: str | None) -> str | None:
        # Both go verbatim into the List-Unsubscribe header, which must stay one unencoded line.
        if value is not None and (
            not value.isascii() or not value.isprintable() or " " in value or len(value) > 400
        ):
            raise ValueError("must be printable ASCII without spaces, at most 400 characters")
        return value
