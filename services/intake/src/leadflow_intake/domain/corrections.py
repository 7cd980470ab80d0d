"""A person's corrections to a lead's profile: each given value is the newest fact, an explicit null clears.

Values are read like a submission's (email and phone validated, country to ISO alpha-2, a national phone in
the lead's country, else the default region); unlike a submission, a bad value is refused, never dropped.
Company domain and seniority follow the email, website and job title they are read from. Consent is not
corrected here: it is changed through its own channels (vendor unsubscribes, form opt-outs, nurture).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow_intake.domain.normalise import (
    FieldProblem,
    Rejected,
    clean,
    company_domain,
    country_code,
    normalise_email,
    normalise_phone,
    seniority_of,
)
from leadflow_intake.domain.updates import ProfileUpdate
from leadflow_shared.contracts.lead import LeadProfile

TEXT_FIELDS: tuple[str, ...] = ("first_name", "last_name", "company", "website", "job_title", "industry")
CORRECTABLE: tuple[str, ...] = (*TEXT_FIELDS, "email", "phone", "country", "company_size")


@dataclass(frozen=True)
class Correction:
    """Corrected values by field path (`country`, `answers.budget`, `custom_fields.plan`); None clears."""

    values: dict[str, Any]


def read_correction(
    fields: Mapping[str, Any], *, lead_country: str | None, default_region: str | None
) -> Correction | Rejected:
    """Canonical values of a correction's fields (plain fields, `answers`, `custom_fields`), or why not."""
    values: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for name in TEXT_FIELDS:
        if name in fields:
            values[name] = clean(fields[name])
    if "company_size" in fields:
        values["company_size"] = fields["company_size"]
    if "country" in fields:
        raw = clean(fields["country"])
        values["country"] = country_code(raw)
        if raw is not None and values["country"] is None:
            problems.append(FieldProblem("country", f"unknown country {raw!r}"))
    if raw_email := clean(fields.get("email")):
        try:
            values["email"] = normalise_email(raw_email)
        except ValueError as exc:
            problems.append(FieldProblem("email", f"{raw_email!r} is not a valid email address: {exc}"))
    elif "email" in fields:
        values["email"] = None
    if raw_phone := clean(fields.get("phone")):
        region = values.get("country") or lead_country or default_region
        try:
            values["phone"] = normalise_phone(raw_phone, region)
        except ValueError as exc:
            problems.append(FieldProblem("phone", f"{raw_phone!r} is not a valid phone number: {exc}"))
    elif "phone" in fields:
        values["phone"] = None
    for name, value in (fields.get("answers") or {}).items():
        values[f"answers.{name}"] = clean(value)
    for key, value in (fields.get("custom_fields") or {}).items():
        values[f"custom_fields.{key}"] = value
    if problems:
        return Rejected(tuple(problems))
    return Correction(values)


def apply_correction(
    stored: LeadProfile, correction: Correction, at: datetime, *, as_of: Mapping[str, datetime]
) -> ProfileUpdate:
    """The stored profile with the correction applied as of `at`, and the fields it changed."""
    data = stored.model_dump()
    times = dict(as_of)
    changed: list[str] = []
    for path, value in correction.values.items():
        group, _, key = path.partition(".")
        holder = data[group] if key else data
        name = key or group
        if holder.get(name) == value:
            continue
        if value is None and key and group == "custom_fields":
            holder.pop(name, None)
        else:
            holder[name] = value
        times[path] = at
        changed.append(path)
    derived = {}
    if {"email", "website"} & set(changed):
        derived["company_domain"] = company_domain(data["email"], data["website"])
    if "job_title" in changed:
        derived["seniority"] = seniority_of(data["job_title"]).value
    for name, value in derived.items():
        if data[name] != value:
            data[name] = value
            times[name] = at
            changed.append(name)
    return ProfileUpdate(LeadProfile.model_validate(data), times, tuple(changed))
