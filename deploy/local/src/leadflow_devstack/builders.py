"""Vivid lead data for every test tier: one builder per contract, each with keyword overrides.

Importing this module touches no database or broker, so unit tests use it as freely as end-to-end ones.
A module that needs its own cast keeps the cast's fields as data and builds with these.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from leadflow_shared.contracts.envelope import Envelope, new_event
from leadflow_shared.contracts.events import (
    DisqualificationReason,
    EventData,
    LeadCaptured,
    LeadDisqualified,
    LeadQualified,
)
from leadflow_shared.contracts.lead import Channel, LeadProfile, LeadSubmission, Touch

E = TypeVar("E", bound=EventData)

# Maren Lie runs Fjellbakeri, a bakery in Bergen, and asked through the website's contact form.
MAREN: dict[str, Any] = {"first_name": "Maren", "last_name": "Lie", "email": "maren.lie@fjellbakeri.example"}


def address(name: str, domain: str) -> str:
    """An email address at the domain that no other call gives out: the name and six random hex digits."""
    return f"{name.lower()}.{uuid.uuid4().hex[:6]}@{domain}"


def _fields(
    base: Mapping[str, Any], like: tuple[Mapping[str, Any], ...], changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The base's fields, then each `like`'s, then the changes: later ones win."""
    fields = dict(base)
    for cast in like:
        fields.update(cast)
    fields.update(changes)
    return fields


def profile(*like: Mapping[str, Any], **changes: Any) -> LeadProfile:
    """Maren Lie of Fjellbakeri as a lead profile; the fields of each `like` (a module's cast), then the
    changes, say who else."""
    return LeadProfile.model_validate(_fields(MAREN, like, changes))


def touch(**changes: Any) -> Touch:
    """A visit to the website's contact form, just now."""
    fields: dict[str, Any] = {
        "channel": Channel.WEB_FORM,
        "source_system": "website",
        "occurred_at": datetime.now(UTC),
    }
    return Touch.model_validate({**fields, **changes})


def submission(*like: Mapping[str, Any], **changes: Any) -> LeadSubmission:
    """Maren's contact form as intake receives it; each `like`, then the changes, say who else sent what."""
    form_fields: dict[str, Any] = {**MAREN, "channel": Channel.WEB_FORM, "source_system": "website"}
    return LeadSubmission.model_validate(_fields(form_fields, like, changes))


def form(*like: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """The submission as the JSON body a website posts: only the fields it fills in."""
    return submission(*like, **changes).model_dump(mode="json", exclude_unset=True)


def captured(who: LeadProfile | None = None, **changes: Any) -> LeadCaptured:
    """A new lead (Maren unless `who` says otherwise), captured from a contact form just now."""
    fields: dict[str, Any] = {"lead_id": uuid.uuid4(), "profile": who or profile(), "touch": touch()}
    return LeadCaptured.model_validate({**fields, **changes})


def qualified(*like: Mapping[str, Any], **changes: Any) -> LeadQualified:
    """A new lead (Maren unless told otherwise) qualified under the first criteria: a need, the authority, a
    confirmed budget of 48,000 and 45 days to decide; each `like`, then the changes, say what differs."""
    ready: dict[str, Any] = {
        "lead_id": uuid.uuid4(),
        "profile": profile(),
        "fit_score": 82.0,
        "engagement_score": 40.0,
        "budget_amount": Decimal("48000"),
        "budget_confirmed": True,
        "authority": True,
        "need": True,
        "timeline_days": 45,
        "criteria_version": 1,
    }
    return LeadQualified.model_validate(_fields(ready, like, changes))


def disqualified(*like: Mapping[str, Any], **changes: Any) -> LeadDisqualified:
    """A new lead (Maren unless told otherwise) found without a budget yet, worth nurturing; each `like`, then
    the changes, say what differs."""
    fields: dict[str, Any] = {
        "lead_id": uuid.uuid4(),
        "reason": DisqualificationReason.NO_BUDGET,
        "nurturable": True,
        "profile": profile(),
        "fit_score": 41.0,
        "engagement_score": 5.0,
    }
    return LeadDisqualified.model_validate(_fields(fields, like, changes))


def sent(event: E, source: str = "intake") -> tuple[Envelope, E]:
    """An event as a batch handler receives it: its envelope, from the source, beside its data."""
    return new_event(event, source=source), event
