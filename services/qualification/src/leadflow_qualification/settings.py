"""Qualification settings (env prefix QUALIFICATION_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from leadflow_shared.settings import ServiceSettings


class QualificationSettings(ServiceSettings):
    """Everything qualification reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="QUALIFICATION_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "qualification"

    http_port: int = Field(default=8002, ge=1, le=65535)
    sweep_interval_s: float = Field(default=5.0, gt=0, description="seconds between staleness sweeps")
    funnel_refresh_interval_s: float = Field(
        default=30.0, gt=0, description="seconds between turns of keeping the funnel's cells"
    )
    funnel_refresh_days: int = Field(
        default=16, ge=1, description="days of funnel cells built from the facts per transaction at most"
    )
    funnel_refresh_nodes: int = Field(
        default=256, ge=1, description="runs of days of funnel cells built from halves per transaction"
    )
    funnel_settle_s: float = Field(
        default=60.0,
        ge=0,
        description="seconds today must go unchanged before its funnel cells are rebuilt (until then the"
        " report counts today from the facts)",
    )
