"""Mailchimp audience webhooks: form-encoded type / fired_at / data[...] fields, unsigned."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from leadflow_shared.contracts.lead import Campaign, Channel, Consent, ContactChannel, LeadSubmission

from .common import (
    ConsentChange,
    Ignored,
    PayloadError,
    SourceResult,
    answers_from,
    bracket_group,
    person_fields,
    text,
)
from .spec import Handshake, unsigned_form

SOURCE = "mailchimp"

# Merge tags -> canonical submission fields; every other tag is kept as a custom field.
MERGE_TAGS: dict[str, str] = {
    "FNAME": "first_name",
    "LNAME": "last_name",
    "PHONE": "phone",
    "COMPANY": "company",
    "WEBSITE": "website",
    "TITLE": "job_title",
    "JOBTITLE": "job_title",
    "COUNTRY": "country",
    "INDUSTRY": "industry",
    "SIZE": "company_size",
}
_NOT_CUSTOM = frozenset({"EMAIL", "INTERESTS"})


def fired_at(fields: Mapping[str, str]) -> datetime | None:
    """Mailchimp's "YYYY-MM-DD HH:MM:SS" time, read as UTC."""
    raw = text(fields.get("fired_at"))
    if raw is None:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def dedup_key(fields: Mapping[str, str]) -> str:
    """The redelivery key: data[id] + list_id + type + fired_at."""
    parts = (fields.get("data[id]"), fields.get("data[list_id]"), fields.get("type"), fields.get("fired_at"))
    return ":".join(p or "" for p in parts)


def parse_mailchimp(fields: Mapping[str, str]) -> SourceResult:
    """Map decoded form fields: subscribe is a lead, unsubscribe/cleaned a consent change, rest ignored."""
    kind = text(fields.get("type"))
    if kind is None:
        raise PayloadError("mailchimp payload has no 'type'")
    email = text(fields.get("data[email]"))
    when = fired_at(fields)
    if kind in ("unsubscribe", "cleaned"):
        if email is None:
            raise PayloadError(f"mailchimp {kind} has no 'data[email]'")
        reason = text(fields.get("data[reason]")) or "unknown"
        action = text(fields.get("data[action]"))
        return ConsentChange(
            source_system=SOURCE,
            email=email,
            channel=ContactChannel.EMAIL,
            opted_in=False,
            reason=f"mailchimp {kind}: {reason}" + (f" ({action})" if action else ""),
            source_id=dedup_key(fields),
            occurred_at=when,
        )
    if kind != "subscribe":
        return Ignored(SOURCE, f"mailchimp {kind} events carry no new lead")

    merges = bracket_group(fields, "data[merges]")
    email = email or text(merges.get("EMAIL"))
    if email is None:
        raise PayloadError("mailchimp subscribe has no 'data[email]'")
    known: dict[str, str] = {}
    other: dict[str, str] = {}
    for tag, value in merges.items():
        if not text(value):
            continue
        target = MERGE_TAGS.get(tag.upper())
        if target is not None:
            known.setdefault(target, value.strip())
        elif tag.upper() not in _NOT_CUSTOM:
            other[tag] = value.strip()
    answers, custom = answers_from(other)
    custom_fields: dict[str, Any] = dict(custom)
    if text(merges.get("INTERESTS")):
        custom_fields["interests"] = [i.strip() for i in merges["INTERESTS"].split(",") if i.strip()]
    list_id = text(fields.get("data[list_id]"))
    if list_id:
        custom_fields["mailchimp_list_id"] = list_id
    return LeadSubmission(
        **person_fields(known, email=email),
        # Subscribing to an audience is an email opt-in.
        consent=Consent(email=True),
        answers=answers,
        channel=Channel.EMAIL,
        source_system=SOURCE,
        source_id=dedup_key(fields),
        campaign=Campaign(campaign_id=text(fields.get("data[campaign_id]"))),
        custom_fields=custom_fields,
        submitted_at=when,
    )


SPEC = unsigned_form(
    SOURCE,
    parse_mailchimp,
    # Mailchimp's check on save sends no secret, so only a configured source answers it.
    handshake=Handshake(lambda params, secret: {"status": "ok"}),
    empty_post_is_check=True,
)
