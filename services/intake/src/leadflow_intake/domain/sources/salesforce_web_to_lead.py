"""Salesforce Web-to-Lead: the generated HTML form's fields, posted form-encoded and unsigned."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from leadflow_shared.contracts.lead import Campaign, Channel, Consent, LeadSubmission

from ..normalise import parse_company_size
from .common import PayloadError, answers_from, text, truthy
from .spec import unsigned_form

SOURCE = "salesforce_web_to_lead"

# The form generator's standard field names that are ours to interpret or to drop.
_STANDARD = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "company",
        "title",
        "phone",
        "mobile",
        "url",
        "country",
        "industry",
        "employees",
        "emailOptOut",
        "Campaign_ID",
        "description",
    }
)
# Hidden plumbing of the form, never lead data.
_PLUMBING = frozenset(
    {"oid", "retURL", "debug", "debugEmail", "captcha_settings", "g-recaptcha-response", "encoding", "submit"}
)
# Kept as they are, under their own names.
_KEPT = frozenset(
    {
        "salutation",
        "street",
        "city",
        "state",
        "zip",
        "fax",
        "lead_source",
        "rating",
        "revenue",
        "member_status",
    }
)
_CUSTOM_FIELD_ID = re.compile(r"^00N[0-9A-Za-z]{12}$")


def parse_salesforce_web_to_lead(fields: Mapping[str, str]) -> LeadSubmission:
    """Map Web-to-Lead form fields to a submission; 00N custom fields are kept raw by their ids."""
    if not any(text(fields.get(k)) for k in ("email", "phone", "mobile", "last_name", "company")):
        raise PayloadError("salesforce web-to-lead post has none of email, phone, last_name, company")
    custom: dict[str, Any] = {}
    questions: dict[str, str] = {}
    for key, value in fields.items():
        if key in _STANDARD or key in _PLUMBING or not text(value):
            continue
        if _CUSTOM_FIELD_ID.match(key) or key in _KEPT or key == "recordType":
            custom[key] = value.strip()
        else:
            questions[key] = value.strip()
    answers, extra = answers_from(questions)
    custom.update(extra)
    description = text(fields.get("description"))
    if description:
        custom["description"] = description
    # emailOptOut=1 is an explicit opt-out; 0 only means the box was left alone.
    opt_out = truthy(fields.get("emailOptOut"))
    # The form carries no id, so a digest of what was posted makes double submissions recognisable.
    posted = sorted((k, v) for k, v in fields.items() if k not in _PLUMBING)
    digest = hashlib.sha256(repr(posted).encode()).hexdigest()[:32]
    return LeadSubmission(
        first_name=text(fields.get("first_name")),
        last_name=text(fields.get("last_name")),
        email=text(fields.get("email")),
        phone=text(fields.get("phone")) or text(fields.get("mobile")),
        company=text(fields.get("company")),
        website=text(fields.get("url")),
        job_title=text(fields.get("title")),
        country=text(fields.get("country")),
        industry=text(fields.get("industry")),
        company_size=parse_company_size(text(fields.get("employees"))),
        consent=Consent(email=False if opt_out else None),
        answers=answers,
        channel=Channel.WEB_FORM,
        source_system=SOURCE,
        source_id=f"sha256:{digest}",
        campaign=Campaign(campaign_id=text(fields.get("Campaign_ID"))),
        custom_fields=custom,
    )


SPEC = unsigned_form(SOURCE, parse_salesforce_web_to_lead)
