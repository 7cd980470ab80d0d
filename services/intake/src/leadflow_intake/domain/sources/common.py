"""What every source parser shares: its result types, question mapping and secret checks."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl

from leadflow_shared.contracts.lead import ContactChannel, LeadSubmission, QualifyingAnswers

from ..normalise import parse_company_size


class PayloadError(ValueError):
    """A vendor payload lacks what the parser needs; the message says what."""


@dataclass(frozen=True)
class ConsentChange:
    """A person opted in or out of a channel; not a new lead."""

    source_system: str
    email: str | None
    channel: ContactChannel
    opted_in: bool
    reason: str
    source_id: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Ignored:
    """A well-formed event that carries no lead (a campaign report, a tag change, ...)."""

    source_system: str
    reason: str


SourceResult = LeadSubmission | ConsentChange | Ignored

Qualifier = Literal["budget", "authority", "need", "timeline"]

# Keyword rules that recognise a form question as one of budget / authority / need / timeline.
QUALIFIER_KEYWORDS: tuple[tuple[Qualifier, tuple[str, ...]], ...] = (
    ("budget", ("budget", "spend", "price range", "investment", "budget_range")),
    (
        "authority",
        (
            "authority",
            "decision",
            "role in purchas",
            "role_in_purchase",
            "purchasing role",
            "buying role",
            "entscheid",
        ),
    ),
    (
        "timeline",
        (
            "timeline",
            "time frame",
            "timeframe",
            "time_frame",
            "when do you plan",
            "when are you",
            "how soon",
            "zeitrahmen",
            "zeitraum",
        ),
    ),
    (
        "need",
        (
            "need",
            "challenge",
            "problem",
            "pain",
            "looking for",
            "interested in",
            "interest",
            "use case",
            "use_case",
            "bedarf",
        ),
    ),
)


def qualifier_of(question: str) -> Qualifier | None:
    """Which qualifying answer a question asks for, by its label or key."""
    text = question.casefold().replace("_", " ")
    for qualifier, keywords in QUALIFIER_KEYWORDS:
        if any(k.replace("_", " ") in text for k in keywords):
            return qualifier
    return None


def answers_from(questions: Mapping[str, str]) -> tuple[QualifyingAnswers, dict[str, Any]]:
    """Split question -> answer pairs into qualifying answers and the rest (kept as custom fields)."""
    found: dict[str, str] = {}
    rest: dict[str, Any] = {}
    for question, answer in questions.items():
        qualifier = qualifier_of(question)
        if qualifier is not None and qualifier not in found and answer:
            found[qualifier] = answer
        else:
            rest[question] = answer
    return QualifyingAnswers.model_validate(found), rest


def text(value: Any) -> str | None:
    """A payload value as trimmed text, or None when empty; numbers become their digits."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def id_text(value: Any) -> str | None:
    """An id sent as a JSON number or string, always as a string; 0 means not set."""
    result = text(value)
    return None if result in (None, "0") else result


def require(payload: Mapping[str, Any], key: str, source: str) -> Any:
    """The value at key, or a PayloadError naming the missing field."""
    value = payload.get(key)
    if value is None or value == "" or value == [] or value == {}:
        raise PayloadError(f"{source} payload has no {key!r}")
    return value


def as_mapping(value: Any, what: str) -> Mapping[str, Any]:
    """The value if it is an object, else a PayloadError."""
    if not isinstance(value, Mapping):
        raise PayloadError(f"{what} must be an object")
    return value


def from_unix(seconds: float) -> datetime:
    """A UTC time from unix seconds."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def from_unix_ms(millis: Any) -> datetime | None:
    """A UTC time from unix milliseconds, None when absent or not a number."""
    if isinstance(millis, bool) or not isinstance(millis, int | float):
        return None
    return from_unix(millis / 1000)


def from_iso(value: Any) -> datetime | None:
    """A time from ISO-8601 ("2025-03-04T10:15:00Z", "...+0000"); None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    raw = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", raw)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def truthy(value: Any) -> bool | None:
    """Read a yes/no flag as vendors send it ("1", "true", "yes", "ja", "x"); None when unclear."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if not isinstance(value, str):
        return None
    word = value.strip().casefold()
    if word in {"1", "true", "yes", "y", "ja", "j", "x", "on", "opt-in", "opted in", "checked"}:
        return True
    if word in {"0", "false", "no", "n", "nein", "off", "opt-out", "opted out", ""}:
        return False
    return None


def parse_form_body(body: str | bytes) -> dict[str, str]:
    """Decode an application/x-www-form-urlencoded body into flat keys ("data[merges][FNAME]" stays whole)."""
    try:
        raw = body.decode("utf-8") if isinstance(body, bytes) else body
        # strict: a percent-escaped byte that is not UTF-8 is refused, not silently replaced by U+FFFD
        return dict(parse_qsl(raw, keep_blank_values=True, errors="strict"))
    except UnicodeDecodeError as exc:
        raise PayloadError(f"form body is not valid UTF-8, raw or percent-encoded: {exc.reason}") from exc


def bracket_group(fields: Mapping[str, str], prefix: str) -> dict[str, str]:
    """The keys under a PHP-style bracket prefix: bracket_group(f, "data[merges]") -> {"FNAME": "Dana"}."""
    start = prefix + "["
    group: dict[str, str] = {}
    for key, value in fields.items():
        if key.startswith(start) and key.endswith("]"):
            inner = key[len(start) : -1]
            if "[" not in inner and "]" not in inner:
                group[inner] = value
    return group


def secrets_match(given: str | bytes | None, expected: str | bytes) -> bool:
    """Compare a presented secret with the configured one in constant time."""
    if given is None or not expected:
        return False
    a = given.encode() if isinstance(given, str) else given
    b = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(a, b)


def hmac_sha256(secret: str | bytes, message: bytes) -> bytes:
    """The raw HMAC-SHA256 digest of message under secret."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).digest()


# Signed requests older or newer than this are refused, so a captured delivery cannot be replayed later.
SIGNATURE_MAX_AGE = timedelta(minutes=5)
# ASCII digits only (str.isdigit() also admits "²"); 13 digits reach the year 2286 in milliseconds.
_TIMESTAMP = re.compile(r"[0-9]{1,13}")


def signed_at(timestamp: str | None, *, millis: bool) -> float | None:
    """A signature timestamp header as unix seconds, or None when it is not 1 to 13 ASCII digits."""
    if timestamp is None or not _TIMESTAMP.fullmatch(timestamp):
        return None
    return int(timestamp) / 1000 if millis else float(int(timestamp))


def is_fresh(sent_at: float | None, now: datetime) -> bool:
    """Whether a request signed at sent_at (unix seconds) is within SIGNATURE_MAX_AGE of now, either way."""
    return sent_at is not None and abs(now.timestamp() - sent_at) <= SIGNATURE_MAX_AGE.total_seconds()


def verify_url_secret(given: str | None, configured: str) -> bool:
    """Check the secret put in an unsigned source's callback URL (Mailchimp, ActiveCampaign, Web-to-Lead)."""
    return secrets_match(given, configured)


PERSON_FIELDS = (
    "full_name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "website",
    "job_title",
    "country",
    "industry",
)


def person_fields(known: Mapping[str, str | None], **overrides: Any) -> dict[str, Any]:
    """The person and company fields of a submission from a source's canonical names, size parsed."""
    fields: dict[str, Any] = {name: known.get(name) for name in PERSON_FIELDS}
    fields["company_size"] = parse_company_size(known.get("company_size"))
    return {**fields, **overrides}
