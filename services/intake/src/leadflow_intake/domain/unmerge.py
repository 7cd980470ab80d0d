"""Undoing a merge: what it filled into the survivor, by field path, and the survivor without it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadflow_shared.contracts.lead import LeadProfile

_GROUPS = ("consent", "answers", "custom_fields")


def flatten(profile: LeadProfile) -> dict[str, Any]:
    """A profile's values by path: `country`, `answers.budget`, `consent.email`, `custom_fields.plan`."""
    data = profile.model_dump(mode="json")
    paths = {name: value for name, value in data.items() if name not in _GROUPS}
    for group in _GROUPS:
        paths.update({f"{group}.{key}": value for key, value in data[group].items()})
    return paths


def merge_changes(before: LeadProfile, after: LeadProfile) -> dict[str, dict[str, Any]]:
    """What a merge changed in the survivor, by path: each value before and after."""
    old, new = flatten(before), flatten(after)
    return {
        path: {"from": old.get(path), "to": value} for path, value in new.items() if old.get(path) != value
    }


def unmerged_profile(
    current: LeadProfile, changes: Mapping[str, Mapping[str, Any]]
) -> tuple[LeadProfile, tuple[str, ...]]:
    """The survivor with each value the merge brought put back, where it still holds that value (a later
    submission or correction stands); and the paths put back."""
    data = current.model_dump(mode="json")
    now = flatten(current)
    restored: list[str] = []
    for path, change in changes.items():
        if now.get(path) != change["to"]:
            continue
        group, _, key = path.partition(".")
        holder, name = (data[group], key) if key else (data, group)
        if change["from"] is None and group == "custom_fields":
            holder.pop(name, None)
        else:
            holder[name] = change["from"]
        restored.append(path)
    return LeadProfile.model_validate(data), tuple(restored)
