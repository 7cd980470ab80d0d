"""Nurture settings (env prefix NURTURE_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from leadflow_shared.settings import ServiceSettings


class NurtureSettings(ServiceSettings):
    """Everything nurture reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "nurture"

    http_port: int = Field(default=8004, ge=1, le=65535)
    scheduler_poll_interval_s: float = Field(default=1.0, gt=0, description="how often the worker looks")
    scheduler_batch_size: int = Field(default=100, ge=1, le=5000, description="touches claimed per round")
    scheduler_retry_delay_s: float = Field(default=60.0, ge=0, description="wait after a failed send")
    scheduler_enabled: bool = True
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_use_tls: bool = False
    smtp_start_tls: bool = False
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    sender_email: str = "hello@leadflow.example"
    sender_name: str = "leadflow"
    unsubscribe_url: str = Field(
        default="https://leadflow.example/unsubscribe?lead=$lead_id",
        description="one-click unsubscribe link; $lead_id is replaced",
    )
    unsubscribe_mailto: str | None = None
