"""ActiveCampaign webhooks: form-encoded type / date_time / contact[...] fields, unsigned, never retried."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadflow_shared.contracts.lead import Channel, Consent, ContactChannel, LeadSubmission

from ..normalise import parse_company_size
from .common import (
    ConsentChange,
    Ignored,
    PayloadError,
    SourceResult,
    answers_from,
    bracket_group,
    from_iso,
    text,
)
from .spec import unsigned_form

SOURCE = "activecampaign"
LEAD_EVENTS = frozenset({"subscribe", "update"})

# contact[fields][<perstag>] names that are canonical fields; numeric ids and others stay custom.
FIELD_TAGS: dict[str, str] = {
    "job_title": "job_title",
    "jobtitle": "job_title",
    "title": "job_title",
    "website": "website",
    "country": "country",
    "industry": "industry",
    "company_size": "company_size",
    "employees": "company_size",
}


def dedup_key(fields: Mapping[str, str]) -> str:
    """The redelivery key: contact[id] + type + date_time."""
    parts = (fields.get("contact[id]"), fields.get("type"), fields.get("date_time"))
    return ":".join(p or "" for p in parts)


def parse_activecampaign(fields: Mapping[str, str]) -> SourceResult:
    """Map decoded form fields: subscribe/update are leads, unsubscribe a consent change, the rest ignored."""
    kind = text(fields.get("type"))
    if kind is None:
        raise PayloadError("activecampaign payload has no 'type'")
    email = text(fields.get("contact[email]"))
    when = from_iso(fields.get("date_time"))
    if kind == "unsubscribe":
        if email is None:
            raise PayloadError("activecampaign unsubscribe has no 'contact[email]'")
        return ConsentChange(
            source_system=SOURCE,
            email=email,
            channel=ContactChannel.EMAIL,
            opted_in=False,
            reason=f"activecampaign unsubscribe ({text(fields.get('initiated_by')) or 'unknown'})",
            source_id=dedup_key(fields),
            occurred_at=when,
        )
    if kind not in LEAD_EVENTS:
        return Ignored(SOURCE, f"activecampaign {kind} events carry no new lead")
    if email is None and text(fields.get("contact[phone]")) is None:
        raise PayloadError(f"activecampaign {kind} has neither 'contact[email]' nor 'contact[phone]'")

    known: dict[str, str] = {}
    other: dict[str, str] = {}
    for tag, value in bracket_group(fields, "contact[fields]").items():
        if not text(value):
            continue
        target = FIELD_TAGS.get(tag.lower())
        if target is not None:
            known.setdefault(target, value.strip())
        else:
            other[tag] = value.strip()
    answers, custom = answers_from(other)
    custom_fields: dict[str, Any] = dict(custom)
    tags = text(fields.get("contact[tags]"))
    if tags:
        custom_fields["tags"] = [t.strip() for t in tags.split(",") if t.strip()]
    for key in ("list", "initiated_from", "initiated_by"):
        if text(fields.get(key)):
            custom_fields[f"activecampaign_{key}"] = fields[key]
    return LeadSubmission(
        first_name=text(fields.get("contact[first_name]")),
        last_name=text(fields.get("contact[last_name]")),
        email=email,
        phone=text(fields.get("contact[phone]")),
        company=text(fields.get("contact[orgname]"))
        or text(fields.get("orgname"))
        or text(fields.get("contact[customer_acct_name]")),
        website=known.get("website"),
        job_title=known.get("job_title"),
        country=known.get("country"),
        industry=known.get("industry"),
        company_size=parse_company_size(known.get("company_size")),
        # A contact added to a list through a public form has opted in to email; admin/api adds have not said.
        consent=Consent(
            email=True if kind == "subscribe" and fields.get("initiated_from") == "public" else None
        ),
        answers=answers,
        channel=Channel.WEB_FORM if fields.get("initiated_from") == "public" else Channel.EMAIL,
        source_system=SOURCE,
        source_id=dedup_key(fields),
        custom_fields=custom_fields,
        submitted_at=when,
    )


SPEC = unsigned_form(SOURCE, parse_activecampaign)
