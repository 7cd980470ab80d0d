"""Which value wins when a known person arrives again: the written update policy, per field.

- Contact and firmographic fields (names, email, phone, company, website, title, seniority, country,
  industry, size) and each qualifying answer: a value from a submission that occurred at or after the
  time of the stored value replaces it; an older submission only fills what is empty. A submission
  never blanks a field (an absent value says nothing).
- Custom fields: the same rule, key by key.
- Consent, per channel: an opt-out wins over an opt-in of an older or equal moment; an opt-in replaces
  an opt-out only when it occurred strictly later.
- Test flag: one real submission makes the person real.
- Corrections (a person, through the API): each given value replaces the stored one as the newest fact,
  an explicit null clears it; a cleared field is filled again only by a submission that occurred later.

Each kept value remembers the moment it occurred (`as_of`, by field path such as `country`,
`answers.budget`, `consent.email`, `custom_fields.plan`); a field without one counts as of `baseline`,
the moment the lead was first stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow_shared.contracts.lead import Consent, ContactChannel, LeadProfile, QualifyingAnswers

PLAIN_FIELDS: tuple[str, ...] = tuple(
    name
    for name in LeadProfile.model_fields
    if name not in ("consent", "answers", "custom_fields", "is_test")
)
ANSWER_FIELDS: tuple[str, ...] = tuple(QualifyingAnswers.model_fields)
CONSENT_CHANNELS: tuple[str, ...] = tuple(Consent.model_fields)
# Values that say nothing: they never replace a stored value.
_EMPTY: tuple[Any, ...] = (None, "", "unknown")


@dataclass(frozen=True)
class ProfileUpdate:
    """The profile after a submission, when each of its values occurred, and the fields that changed."""

    profile: LeadProfile
    as_of: dict[str, datetime]
    changed: tuple[str, ...]


def apply_submission(
    stored: LeadProfile,
    new: LeadProfile,
    occurred_at: datetime,
    *,
    as_of: Mapping[str, datetime],
    baseline: datetime,
) -> ProfileUpdate:
    """The stored profile updated by a submission of the same person that occurred at `occurred_at`."""
    times = dict(as_of)
    changed: list[str] = []

    def take(path: str, old: Any, value: Any) -> bool:
        # An empty field with a time of its own was cleared by a correction: only a later value fills it.
        held = old not in _EMPTY or path in times
        if value in _EMPTY or value == old or (held and occurred_at < times.get(path, baseline)):
            return False
        times[path] = occurred_at
        changed.append(path)
        return True

    plain = {n: getattr(new, n) for n in PLAIN_FIELDS if take(n, getattr(stored, n), getattr(new, n))}
    answers = {
        n: getattr(new.answers, n)
        for n in ANSWER_FIELDS
        if take(f"answers.{n}", getattr(stored.answers, n), getattr(new.answers, n))
    }
    consent: dict[str, bool] = {}
    for name in CONSENT_CHANNELS:
        path, old, value = f"consent.{name}", getattr(stored.consent, name), getattr(new.consent, name)
        if value is None or value == old:
            continue
        since = times.get(path, baseline)
        if old is None or (occurred_at >= since if value is False else occurred_at > since):
            consent[name], times[path] = value, occurred_at
            changed.append(path)

    custom = {
        key: value
        for key, value in new.custom_fields.items()
        if take(f"custom_fields.{key}", stored.custom_fields.get(key), value)
    }

    is_test = stored.is_test and new.is_test
    if is_test != stored.is_test:
        changed.append("is_test")
    profile = stored.model_copy(
        update={
            **plain,
            "answers": stored.answers.model_copy(update=answers),
            "consent": stored.consent.model_copy(update=consent),
            "custom_fields": {**stored.custom_fields, **custom},
            "is_test": is_test,
        }
    )
    return ProfileUpdate(profile, times, tuple(changed))


def consent_changes(update: ProfileUpdate) -> list[tuple[ContactChannel, bool]]:
    """The channels whose consent the update changed, each with its new value (a form's opt-out, say)."""
    return [
        (ContactChannel(name), value)
        for name in CONSENT_CHANNELS
        if f"consent.{name}" in update.changed
        and (value := getattr(update.profile.consent, name)) is not None
    ]
