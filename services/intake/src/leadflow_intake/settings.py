"""Intake settings (env prefix INTAKE_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from leadflow_shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Everything intake reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "intake"

    http_port: int = Field(default=8001, ge=1, le=65535)
    default_region: str = Field(default="US", description="phone region when a lead names no country")
