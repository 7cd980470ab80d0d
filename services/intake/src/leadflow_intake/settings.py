"""Intake settings (env prefix INTAKE_)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Self

import phonenumbers
from pydantic import Field, create_model, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from leadflow_intake.domain.sources import SOURCES, source_settings
from leadflow_shared.settings import ServiceSettings

# The setting holding each webhook source's secret (named in messages); a source without it is disabled.
WEBHOOK_SECRETS: dict[str, str] = {name: spec.secret.name for name, spec in SOURCES.items()}
CHOSEN_SECRETS = tuple(setting.name for setting in source_settings() if setting.chosen)
MIN_CHOSEN_SECRET = 16

if TYPE_CHECKING:

    class _SourceSettings(ServiceSettings):
        """The sources' settings: strings named at import time, read with getattr by their Setting's name."""

else:
    # Each source declares its own settings (secret, tokens, API URLs) in its module: a string field each.
    _SourceSettings = create_model(
        "SourceSettings",
        __base__=ServiceSettings,
        **{setting.name: (str, setting.default) for setting in source_settings()},
    )


class IntakeSettings(_SourceSettings):
    """Everything intake reads from its environment; a webhook source without its secret is disabled (403)."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "intake"

    http_port: int = Field(default=8001, ge=1, le=65535)
    # An intake batch holds every submission's profile and fuzzy candidates at once; in the benchmark, batches
    # of 250 kept the peak RSS about 20 MB lower than 500 and were no slower.
    consumer_max_records: int = Field(default=250, ge=1, le=10_000)
    default_region: str = Field(
        default="US", description="phone region (ISO alpha-2) when a lead names no country; empty for none"
    )

    import_max_bytes: int = Field(default=64 * 1_048_576, ge=1024, description="largest CSV upload accepted")
    import_chunk_rows: int = Field(default=500, ge=1, le=10_000)
    import_poll_interval_s: float = Field(default=0.5, gt=0)
    public_base_url: str = Field(
        default="", description="the URL vendors call (scheme://host), used for HubSpot's signed URI"
    )

    fetch_timeout_s: float = Field(default=10.0, gt=0)
    vendor_retry_window_s: float = Field(
        default=3600.0,
        gt=0,
        description="how long a delivery waits for a vendor API that is down before it goes to quarantine",
    )

    dedup_merge_threshold: float = Field(default=95.0, ge=0, le=100)
    dedup_review_threshold: float = Field(default=80.0, ge=0, le=100)
    dedup_max_candidates: int = Field(default=50, ge=1, le=1000)

    @field_validator(*CHOSEN_SECRETS)
    @classmethod
    def _chosen_secrets_are_long(cls, value: str) -> str:
        if value and len(value) < MIN_CHOSEN_SECRET:
            raise ValueError(f"must be at least {MIN_CHOSEN_SECRET} characters long (it is ours to choose)")
        return value

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.strip().upper()
        if region and region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region phone numbers are known for (ISO 3166 alpha-2)")
        return region

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Self:
        if self.dedup_review_threshold > self.dedup_merge_threshold:
            raise ValueError("dedup_review_threshold must not exceed dedup_merge_threshold")
        return self
