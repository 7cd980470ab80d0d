"""Nurture settings (env prefix NURTURE_)."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from leadflow_nurture.domain.unsubscribe import MIN_SECRET, UnsubscribeLinks
from leadflow_shared.settings import ServiceSettings

# The SMTP commands of one email (connect, MAIL, RCPT, DATA, the message): each bounded by smtp_timeout_s.
SEND_MARGIN = 5


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
    scheduler_lease_s: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="how long a round holds the touches it sends; a crashed round's touches wait this long",
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
    public_url: str = Field(
        default="http://127.0.0.1:8004",
        description="nurture's address as recipients reach it; one-click unsubscribe links start with it",
    )
    unsubscribe_secret: SecretStr | None = Field(
        default=None,
        description="signs the one-click unsubscribe links; `serve` refuses to start without it",
    )
    unsubscribe_valid_days: int = Field(
        default=60, ge=1, le=3650, description="how long a sent email's unsubscribe link keeps working"
    )
    unsubscribe_mailto: str | None = None

    @model_validator(mode="after")
    def _lease_outlasts_an_email(self) -> NurtureSettings:
        # A round stops sending SEND_MARGIN timeouts before its lease ends: one email's worst case.
        if self.scheduler_lease_s <= SEND_MARGIN * self.smtp_timeout_s:
            raise ValueError(
                f"scheduler_lease_s must exceed {SEND_MARGIN} x smtp_timeout_s"
                f" ({SEND_MARGIN * self.smtp_timeout_s:g} s), the longest one email can take"
            )
        return self

    @property
    def send_margin(self) -> timedelta:
        """How long before its lease ends a round stops sending."""
        return timedelta(seconds=SEND_MARGIN * self.smtp_timeout_s)

    @field_validator("public_url", "unsubscribe_mailto")
    @classmethod
    def _header_safe(cls, value: str | None) -> str | None:
        # Both go verbatim into the List-Unsubscribe header, which must stay one unencoded line.
        if value is not None and (
            not value.isascii() or not value.isprintable() or " " in value or len(value) > 300
        ):
            raise ValueError("must be printable ASCII without spaces, at most 300 characters")
        return value

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an https:// (or, locally, http://) URL")
        return value.rstrip("/")

    @field_validator("unsubscribe_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET:
            raise ValueError(f"must be at least {MIN_SECRET} characters: it is all that guards the links")
        return value

    def unsubscribe_links(self) -> UnsubscribeLinks:
        """The signer of unsubscribe links; MissingSecret when no secret is set."""
        if self.unsubscribe_secret is None:
            raise MissingSecret(
                "nurture: invalid configuration\n  NURTURE_UNSUBSCRIBE_SECRET: required (at least"
                f" {MIN_SECRET} characters): it signs the one-click unsubscribe link of every email"
            )
        return UnsubscribeLinks(
            public_url=self.public_url,
            secret=self.unsubscribe_secret.get_secret_value().encode(),
            valid_for=timedelta(days=self.unsubscribe_valid_days),
        )


class MissingSecret(RuntimeError):
    """The service would send emails or answer unsubscribe links without a secret to sign them."""
