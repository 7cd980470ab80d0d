"""Opportunity settings (env prefix OPPORTUNITY_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from leadflow_shared.settings import ServiceSettings


class OpportunitySettings(ServiceSettings):
    """Everything opportunity reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="OPPORTUNITY_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "opportunity"

    http_port: int = Field(default=8003, ge=1, le=65535)
