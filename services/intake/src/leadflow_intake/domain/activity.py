"""Read an upstream activity (type name, trigger, details) as the canonical ActivityType and TriggerKind."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadflow_shared.contracts.lead import ActivityType, TriggerKind

from .normalise import FieldProblem

# Names upstream systems use for an activity (folded to snake_case) -> the canonical type.
ACTIVITY_ALIASES: dict[str, ActivityType] = {
    **{t.value: t for t in ActivityType},
    "open": ActivityType.EMAIL_OPENED,
    "email_open": ActivityType.EMAIL_OPENED,
    "opened": ActivityType.EMAIL_OPENED,
    "click": ActivityType.EMAIL_CLICKED,
    "email_click": ActivityType.EMAIL_CLICKED,
    "clicked": ActivityType.EMAIL_CLICKED,
    "page_view": ActivityType.PAGE_VISITED,
    "pageview": ActivityType.PAGE_VISITED,
    "visit": ActivityType.PAGE_VISITED,
    "page_visit": ActivityType.PAGE_VISITED,
    "pricing_visit": ActivityType.PRICING_PAGE_VISITED,
    "download": ActivityType.CONTENT_DOWNLOADED,
    "content_download": ActivityType.CONTENT_DOWNLOADED,
    "whitepaper_download": ActivityType.CONTENT_DOWNLOADED,
    "webinar_registration": ActivityType.WEBINAR_REGISTERED,
    "webinar_registration_created": ActivityType.WEBINAR_REGISTERED,
    "webinar_participant_joined": ActivityType.WEBINAR_ATTENDED,
    "webinar_attendance": ActivityType.WEBINAR_ATTENDED,
    "demo_request": ActivityType.DEMO_REQUESTED,
    "meeting": ActivityType.MEETING_HELD,
    "meeting_completed": ActivityType.MEETING_HELD,
    "call": ActivityType.CALL_LOGGED,
    "phone_call": ActivityType.CALL_LOGGED,
    "form_submission": ActivityType.FORM_SUBMITTED,
    "form_submit": ActivityType.FORM_SUBMITTED,
    "trigger_event": ActivityType.TRIGGER,
}

TRIGGER_ALIASES: dict[str, TriggerKind] = {
    **{t.value: t for t in TriggerKind},
    "budget": TriggerKind.BUDGET_APPROVED,
    "budget_released": TriggerKind.BUDGET_APPROVED,
    "funding": TriggerKind.FUNDING_ROUND,
    "funding_raised": TriggerKind.FUNDING_ROUND,
    "investment_round": TriggerKind.FUNDING_ROUND,
    "job_change": TriggerKind.NEW_ROLE,
    "promotion": TriggerKind.NEW_ROLE,
    "role_change": TriggerKind.NEW_ROLE,
    "hiring": TriggerKind.COMPANY_GROWTH,
    "headcount_growth": TriggerKind.COMPANY_GROWTH,
    "expansion": TriggerKind.COMPANY_GROWTH,
    "project_kickoff": TriggerKind.PROJECT_STARTED,
    "new_project": TriggerKind.PROJECT_STARTED,
}

# A page visit to one of these paths is a pricing-page visit.
PRICING_PATH = re.compile(r"/(pricing|prices|preise|plans|tarife)(/|$|\?|#)", re.IGNORECASE)
MAX_FUTURE_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Activity:
    """An activity read into the canonical vocabulary."""

    activity_type: ActivityType
    occurred_at: datetime
    trigger: TriggerKind | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ActivityRejected:
    """An activity that cannot be recorded, and why."""

    problems: tuple[FieldProblem, ...]


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def read_activity(
    activity_type: str,
    *,
    occurred_at: datetime,
    now: datetime,
    trigger: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> Activity | ActivityRejected:
    """Map a type name, trigger and details to the canonical activity, or say which inputs are wrong."""
    problems: list[FieldProblem] = []
    info = dict(details or {})
    kind = ACTIVITY_ALIASES.get(_key(activity_type)) if activity_type.strip() else None
    trigger_name = trigger or (info.get("trigger") if isinstance(info.get("trigger"), str) else None)
    trigger_kind = TRIGGER_ALIASES.get(_key(trigger_name)) if trigger_name else None

    if kind is None and trigger_kind is not None and not activity_type.strip():
        kind = ActivityType.TRIGGER
    if kind is None:
        problems.append(FieldProblem("activity_type", f"unknown activity type {activity_type!r}"))
    if trigger_name and trigger_kind is None:
        known = ", ".join(t.value for t in TriggerKind)
        problems.append(FieldProblem("trigger", f"unknown trigger {trigger_name!r}; known: {known}"))
    if kind is ActivityType.TRIGGER and trigger_kind is None and not trigger_name:
        problems.append(FieldProblem("trigger", "a trigger activity needs its kind"))
    if kind is not None and kind is not ActivityType.TRIGGER and trigger_kind is not None:
        problems.append(
            FieldProblem("trigger", f"a trigger kind does not go with activity type {kind.value}")
        )
    if occurred_at.tzinfo is None:
        problems.append(FieldProblem("occurred_at", "time needs a timezone"))
    elif occurred_at - now > MAX_FUTURE_SKEW:
        problems.append(FieldProblem("occurred_at", "time is in the future"))
    if any(not isinstance(k, str) for k in info):
        problems.append(FieldProblem("details", "detail names must be text"))
    url = info.get("url")
    if url is not None and not isinstance(url, str):
        problems.append(FieldProblem("details.url", "url must be text"))
    if problems or kind is None:
        return ActivityRejected(tuple(problems))

    if kind is ActivityType.PAGE_VISITED and isinstance(url, str) and PRICING_PATH.search(url):
        kind = ActivityType.PRICING_PAGE_VISITED
    return Activity(activity_type=kind, occurred_at=occurred_at, trigger=trigger_kind, details=info)
