"""What a source module declares about itself: its settings, how its webhook proves its sender, how its
payload is parsed and, when it sends ids only, what is fetched from the vendor."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from leadflow_shared.contracts.lead import ActivityType, LeadSubmission

from .common import SourceResult, hmac_sha256, secrets_match

# The header an unsigned source may carry its URL secret in, when a query parameter is unwelcome.
SECRET_HEADER = "X-Leadflow-Secret"

Parser = Callable[[Mapping[str, Any]], SourceResult]
# What a captured lead did, as the delivery that named it says: the activity and its details.
Engagement = tuple[ActivityType, dict[str, Any]]


class PayloadShape(StrEnum):
    """How a webhook body is encoded."""

    JSON = "application/json"
    FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Setting:
    """A string setting of a source, read from INTAKE_<NAME>."""

    name: str
    default: str = ""
    # A secret the operator makes up (vendors issue the others): a short one could be guessed via the 401s.
    chosen: bool = False


@dataclass(frozen=True)
class Delivery:
    """A webhook request as its sender signed it: the raw body before any parsing."""

    method: str
    uri: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    now: datetime

    def header(self, name: str) -> str | None:
        """A header by name, whatever case the mapping keeps names in."""
        return self.headers.get(name) or self.headers.get(name.lower())


def _unchanged(payload: Any) -> Any:
    return payload


@dataclass(frozen=True)
class Authenticity:
    """How a source's deliveries prove their sender: a check of the raw request or of the parsed body."""

    refusal: str
    signed: Callable[[Delivery, str], bool] | None = None
    vouched: Callable[[Any, str], bool] | None = None
    # What is kept of a vouched body, so that a secret inside it is never stored.
    redact: Callable[[Any], Any] = _unchanged

    def __post_init__(self) -> None:
        # Fail closed: a source that declares no check must not be open.
        if (self.signed is None) == (self.vouched is None):
            raise ValueError("a source's authenticity checks either the raw request or the parsed body")


def verify_hex_hmac(raw_body: bytes, signature: str | None, secret: str, prefix: str = "") -> bool:
    """Check a header holding prefix + hex HMAC-SHA256 of the raw body under secret (any hex case)."""
    if not secret or not signature or not signature.startswith(prefix):
        return False
    return secrets_match(signature[len(prefix) :].lower(), hmac_sha256(secret, raw_body).hex())


def hex_hmac_header(header: str, prefix: str = "") -> Authenticity:
    """A signature header of prefix + hex HMAC-SHA256 of the raw body (Meta's X-Hub-Signature-256 kind)."""

    def signed(delivery: Delivery, secret: str) -> bool:
        return verify_hex_hmac(delivery.body, delivery.header(header), secret, prefix)

    return Authenticity(f"{header} is missing or does not match the body", signed=signed)


URL_SECRET = Authenticity(
    f"the ?secret= query parameter or {SECRET_HEADER} header does not match",
    signed=lambda delivery, secret: secrets_match(
        delivery.query.get("secret") or delivery.header(SECRET_HEADER), secret
    ),
)


class HandshakeRefused(Exception):
    """A subscription check that does not prove the caller knows the configured token."""


# A handshake's reply: text, or a JSON object.
Reply = str | Mapping[str, str]


@dataclass(frozen=True)
class Handshake:
    """How a source's GET subscription check is answered; PayloadError for a malformed one."""

    answer: Callable[[Mapping[str, str], str], Reply]
    # The setting the check is answered with, when it is not the source's secret.
    secret: str | None = None


@dataclass(frozen=True)
class VendorCall:
    """One GET at a source's vendor API: the path under its API URL, and the query."""

    path: str
    params: tuple[tuple[str, str], ...] = ()


def _no_follow_up(answer: Any) -> VendorCall | None:
    return None


@dataclass(frozen=True)
class NamedLead:
    """A lead a delivery names by id only: its touch's source id, the call that fetches it, how it is read."""

    source_id: str
    call: VendorCall
    # (the call's answer, the follow-up's answer or None) -> the result
    read: Callable[[Any, Any], SourceResult]
    # A second call the first answer asks for (LinkedIn: the form whose questions the response answers).
    follow_up: Callable[[Any], VendorCall | None] = _no_follow_up


@dataclass(frozen=True)
class Fetching:
    """How the leads of a source that sends ids only are fetched; templates are filled from the settings."""

    api_url: str
    headers: Mapping[str, str]
    # Whether a delivery names its leads by id only (a full lead object is parsed as it is).
    needed: Callable[[Mapping[str, Any]], bool]
    # The leads a delivery names; PayloadError when it names them badly.
    leads: Callable[[Mapping[str, Any]], Sequence[NamedLead]]


@dataclass(frozen=True)
class Source:
    """Everything intake knows of one lead source; the registry, the settings and the webhook follow it."""

    name: str
    # The setting that enables the source and authenticates its deliveries.
    secret: Setting
    authenticity: Authenticity
    parse: Parser
    shape: PayloadShape = PayloadShape.JSON
    # Its other settings (tokens, API URLs, handshake tokens).
    settings: tuple[Setting, ...] = ()
    handshake: Handshake | None = None
    # A signed POST that asks us to prove we hold the secret: the reply, or None for a delivery.
    challenge: Callable[[Any, str], Mapping[str, str] | None] | None = None
    # A JSON array body is kept as {array_of: [...]}; otherwise the body must be an object.
    array_of: str | None = None
    # An empty POST is the vendor checking the URL on save (it carries no secret): answered 200.
    empty_post_is_check: bool = False
    fetching: Fetching | None = None
    # The engagement a delivery records for the lead it captured (Zoom: registered, attended).
    engagement: Callable[[Mapping[str, Any], LeadSubmission], Engagement | None] | None = None
    # The source id of a captured lead whose person asked to be forgotten (LinkedIn's DELETED), else None.
    erasure: Callable[[Mapping[str, Any]], str | None] | None = None


def unsigned_form(name: str, parse: Parser, **more: Any) -> Source:
    """A form-encoded source that signs nothing: INTAKE_<NAME>_SECRET, ours to choose, goes in its URL."""
    secret = Setting(f"{name}_secret", chosen=True)
    return Source(name, secret, URL_SECRET, parse, PayloadShape.FORM, **more)
