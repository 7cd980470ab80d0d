"""Google Ads lead form asset webhook: the full lead arrives in one JSON POST."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadflow_shared.contracts.lead import Campaign, Channel, LeadSubmission

from ..normalise import parse_company_size
from .common import PayloadError, answers_from, as_mapping, from_iso, id_text, require, secrets_match, text
from .spec import Authenticity, Setting, Source

SOURCE = "google_ads"

# LeadFormFieldUserInputType column ids -> canonical submission fields.
COLUMN_FIELDS: dict[str, str] = {
    "FULL_NAME": "full_name",
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "EMAIL": "email",
    "WORK_EMAIL": "work_email",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE": "work_phone",
    "COMPANY_NAME": "company",
    "JOB_TITLE": "job_title",
    "COUNTRY": "country",
    "COMPANY_SIZE": "company_size",
}


def verify_google_key(payload: Mapping[str, Any], configured_key: str) -> bool:
    """Whether the body's google_key equals the key configured on the form (constant time)."""
    given = payload.get("google_key")
    return isinstance(given, str) and secrets_match(given, configured_key)


def without_key(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload minus its google_key, so the secret is never stored, published or shown in quarantine."""
    return {k: v for k, v in payload.items() if k.casefold() != "google_key"}


def parse_google_ads(payload: Mapping[str, Any]) -> LeadSubmission:
    """Map a Google Ads WebhookLead to a submission; raises PayloadError when it has no lead id or data."""
    lead_id = text(require(payload, "lead_id", SOURCE))
    rows = payload.get("user_column_data")
    if not isinstance(rows, list):
        raise PayloadError(f"{SOURCE} payload has no 'user_column_data' list")
    known: dict[str, str] = {}
    other: dict[str, str] = {}
    for row in rows:
        column = as_mapping(row, "user_column_data item")
        value = text(column.get("string_value"))
        if value is None:
            continue
        column_id = text(column.get("column_id")) or ""
        target = COLUMN_FIELDS.get(column_id.upper())
        if target is not None:
            known.setdefault(target, value)
        else:
            # Custom questions: column_id shape is undocumented, so key on the human label when present.
            other[text(column.get("column_name")) or column_id or "unnamed"] = value
    answers, custom = answers_from(other)
    if "work_email" in known and "email" in known:
        custom["personal_email"] = known["email"]
    if "work_phone" in known and "phone" in known:
        custom["personal_phone"] = known["phone"]
    gcl_id = text(payload.get("gcl_id"))
    if gcl_id:
        custom["gcl_id"] = gcl_id
    return LeadSubmission(
        full_name=known.get("full_name"),
        first_name=known.get("first_name"),
        last_name=known.get("last_name"),
        email=known.get("work_email") or known.get("email"),
        phone=known.get("work_phone") or known.get("phone"),
        company=known.get("company"),
        job_title=known.get("job_title"),
        country=known.get("country"),
        company_size=parse_company_size(known.get("company_size")),
        answers=answers,
        channel=Channel.PAID_ADS,
        source_system=SOURCE,
        source_id=lead_id,
        campaign=Campaign(
            campaign_id=id_text(payload.get("campaign_id")),
            adgroup_id=id_text(payload.get("adgroup_id")),
            ad_id=id_text(payload.get("creative_id")),
            form_id=id_text(payload.get("form_id")),
        ),
        custom_fields=custom,
        is_test=payload.get("is_test") is True,
        submitted_at=from_iso(payload.get("lead_submit_time")),
    )


SPEC = Source(
    SOURCE,
    secret=Setting("google_ads_key", chosen=True),
    authenticity=Authenticity(
        "google_key does not match the key configured for this form",
        vouched=lambda payload, key: isinstance(payload, Mapping) and verify_google_key(payload, key),
        redact=without_key,
    ),
    parse=parse_google_ads,
)
