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
