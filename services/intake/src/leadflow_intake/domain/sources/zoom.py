"""Zoom webinars: signed JSON events carrying the full registrant or participant."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from leadflow_shared.contracts.lead import ActivityType, Campaign, Channel, LeadSubmission

from ..normalise import parse_company_size
from .common import (
    Ignored,
    PayloadError,
    SourceResult,
    answers_from,
    as_mapping,
    from_iso,
    from_unix_ms,
    hmac_sha256,
    id_text,
    is_fresh,
    secrets_match,
    signed_at,
    text,
)
from .spec import Authenticity, Delivery, Engagement, Setting, Source

SOURCE = "zoom"
URL_VALIDATION = "endpoint.url_validation"
# Zoom sends a short base64 token; anything longer or with other characters is not Zoom's.
PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_+/=-]{1,64}")

EVENT_ACTIVITIES: dict[str, ActivityType] = {
    "webinar.registration_created": ActivityType.WEBINAR_REGISTERED,
    "webinar.participant_joined": ActivityType.WEBINAR_ATTENDED,
}
# Registrant fields Zoom asks as standard questions, which are qualifying answers.
_STANDARD_QUESTIONS: dict[str, str] = {
    "purchasing_time_frame": "timeline",
    "role_in_purchase_process": "authority",
}


def request_time(timestamp: str | None) -> float | None:
    """x-zm-request-timestamp as unix seconds; Zoom sends seconds, and 13 digits are read as milliseconds."""
    return signed_at(timestamp, millis=timestamp is not None and len(timestamp) == 13)


def verify_signature(
    raw_body: bytes, timestamp: str | None, signature: str | None, secret_token: str, *, now: datetime
) -> bool:
    """Check x-zm-signature: "v0=" + hex HMAC-SHA256 of "v0:<timestamp>:<raw body>", signed within 5 min."""
    if timestamp is None or not signature or not secret_token:
        return False
    if not is_fresh(request_time(timestamp), now):
        return False
    message = b"v0:" + timestamp.encode() + b":" + raw_body
    expected = "v0=" + hmac_sha256(secret_token, message).hex()
    return secrets_match(signature.strip(), expected)


def url_validation_response(payload: Mapping[str, Any], secret_token: str) -> dict[str, str]:
    """The reply to endpoint.url_validation: the plainToken and its hex HMAC-SHA256 as encryptedToken."""
    if payload.get("event") != URL_VALIDATION:
        raise PayloadError(f"zoom event is not {URL_VALIDATION}")
    inner = as_mapping(payload.get("payload"), "zoom payload")
    plain = text(inner.get("plainToken"))
    if plain is None:
        raise PayloadError("zoom url validation has no 'plainToken'")
    if not PLAIN_TOKEN.fullmatch(plain):
        # Only Zoom's short random tokens are hashed: the reply must not sign text an attacker chose.
        raise PayloadError("zoom plainToken must be 1 to 64 base64 characters")
    return {"plainToken": plain, "encryptedToken": hmac_sha256(secret_token, plain.encode()).hex()}


def activity_of(payload: Mapping[str, Any]) -> ActivityType | None:
    """The engagement a Zoom event records (registered, attended), if any."""
    return EVENT_ACTIVITIES.get(str(payload.get("event")))


def _webinar_fields(webinar: Mapping[str, Any], event: str) -> dict[str, Any]:
    found: dict[str, Any] = {"zoom_event": event}
    for key in ("id", "uuid", "topic", "start_time"):
        if text(webinar.get(key)):
            found[f"webinar_{key}"] = text(webinar.get(key))
    return found


def _registrant(event: str, webinar: Mapping[str, Any], webinar_id: str) -> LeadSubmission:
    person = as_mapping(webinar.get("registrant"), "zoom registrant")
    registrant_id = text(person.get("id"))
    if registrant_id is None:
        raise PayloadError("zoom registrant has no 'id'")
    questions: dict[str, str] = {}
    for key, qualifier in _STANDARD_QUESTIONS.items():
        if text(person.get(key)):
            questions[qualifier] = str(text(person.get(key)))
    for item in person.get("custom_questions") or []:
        q = as_mapping(item, "custom question")
        title, value = text(q.get("title")), text(q.get("value"))
        if title and value:
            questions[title] = value
    answers, custom = answers_from(questions)
    custom.update(_webinar_fields(webinar, event))
    if text(person.get("comments")):
        custom["comments"] = text(person.get("comments"))
    for key in ("city", "state", "zip"):
        if text(person.get(key)):
            custom[key] = text(person.get(key))
    return LeadSubmission(
        first_name=text(person.get("first_name")),
        last_name=text(person.get("last_name")),
        email=text(person.get("email")),
        phone=text(person.get("phone")),
        company=text(person.get("org")),
        job_title=text(person.get("job_title")),
        country=text(person.get("country")),
        industry=text(person.get("industry")),
        company_size=parse_company_size(text(person.get("no_of_employees"))),
        answers=answers,
        channel=Channel.WEBINAR,
        source_system=SOURCE,
        source_id=f"{webinar_id}:{registrant_id}",
        campaign=Campaign(campaign_id=webinar_id, campaign_name=text(webinar.get("topic"))),
        custom_fields=custom,
        submitted_at=from_iso(person.get("create_time")),
    )


def _participant(event: str, webinar: Mapping[str, Any], webinar_id: str) -> LeadSubmission:
    person = as_mapping(webinar.get("participant"), "zoom participant")
    email = text(person.get("email"))
    if email is None:
        raise PayloadError("zoom participant has no 'email'; an anonymous attendee is not a lead")
    who = (
        text(person.get("registrant_id"))
        or text(person.get("participant_uuid"))
        or text(person.get("id"))
        or email
    )
    return LeadSubmission(
        full_name=text(person.get("user_name")),
        email=email,
        channel=Channel.WEBINAR,
        source_system=SOURCE,
        source_id=f"{webinar_id}:{who}:attended",
        campaign=Campaign(campaign_id=webinar_id, campaign_name=text(webinar.get("topic"))),
        custom_fields=_webinar_fields(webinar, event),
        submitted_at=from_iso(person.get("join_time")),
    )


def parse_zoom(payload: Mapping[str, Any]) -> SourceResult:
    """Map a registration or attendance event to a submission; other events are ignored."""
    event = text(payload.get("event"))
    if event is None:
        raise PayloadError("zoom payload has no 'event'")
    if event not in EVENT_ACTIVITIES:
        return Ignored(SOURCE, f"zoom {event} events carry no new lead")
    inner = as_mapping(payload.get("payload"), "zoom payload")
    webinar = as_mapping(inner.get("object"), "zoom payload object")
    webinar_id = id_text(webinar.get("id"))
    if webinar_id is None:
        raise PayloadError("zoom webinar has no 'id'")
    submission = (
        _registrant(event, webinar, webinar_id)
        if event == "webinar.registration_created"
        else _participant(event, webinar, webinar_id)
    )
    if submission.submitted_at is None:
        submission = submission.model_copy(update={"submitted_at": from_unix_ms(payload.get("event_ts"))})
    return submission


def _signed(delivery: Delivery, secret_token: str) -> bool:
    timestamp, signature = delivery.header("x-zm-request-timestamp"), delivery.header("x-zm-signature")
    return verify_signature(delivery.body, timestamp, signature, secret_token, now=delivery.now)


def _challenge(payload: Any, secret_token: str) -> dict[str, str] | None:
    if not isinstance(payload, Mapping) or payload.get("event") != URL_VALIDATION:
        return None
    return url_validation_response(payload, secret_token)


def _engagement(payload: Mapping[str, Any], submission: LeadSubmission) -> Engagement | None:
    kind = activity_of(payload)
    if kind is None:
        return None
    return kind, {"webinar_id": submission.campaign.campaign_id, "topic": submission.campaign.campaign_name}


SPEC = Source(
    SOURCE,
    secret=Setting("zoom_secret_token"),
    authenticity=Authenticity(
        "x-zm-signature or x-zm-request-timestamp is missing, malformed, "
        "outside 5 minutes of now, or does not match",
        signed=_signed,
    ),
    parse=parse_zoom,
    challenge=_challenge,
    engagement=_engagement,
)
