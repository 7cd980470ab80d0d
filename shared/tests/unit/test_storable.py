"""What PostgreSQL can store: the checks input models run, and the copy kept of refused input."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadflow_shared.contracts.events import ActivityRecorded
from leadflow_shared.contracts.lead import LeadSubmission
from leadflow_shared.contracts.storable import json_problem, storable_copy, text_problem


def test_a_nul_character_is_named_with_its_position() -> None:
    assert text_problem("Dana\x00Kovacs") == "contains a NUL character at position 4, which cannot be stored"


def test_a_lone_surrogate_is_named_with_its_code_point() -> None:
    assert text_problem("Kov\udcc3cs") == (
        "contains a lone surrogate (U+DCC3) at position 3, which cannot be stored"
    )


def test_ordinary_unicode_text_is_storable() -> None:
    assert text_problem("Jürgen Müller-Łukasiewicz 👋") is None


def test_a_json_problem_names_the_path_into_the_value() -> None:
    assert json_problem({"notes": [{"ok": 1}, {"line": "a\x00b"}]}) == (
        "notes[1].line: contains a NUL character at position 1, which cannot be stored"
    )


def test_an_integer_beyond_64_bits_is_refused_and_one_within_is_kept() -> None:
    assert json_problem({"badge": 2**63}) == "badge: integer out of the 64-bit range"
    assert json_problem({"badge": 2**63 - 1}) is None


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(20):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]

    problem = json_problem(deep)

    assert problem is not None
    assert problem.endswith("nested deeper than 16 levels")


def test_a_submission_with_a_nul_in_a_name_fails_validation_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        LeadSubmission(first_name="Da\x00na", email="dana@acme.example")

    error = caught.value.errors()[0]
    assert error["loc"] == ("first_name",)
    assert "NUL character" in error["msg"]


def test_a_submission_with_a_huge_number_in_a_custom_field_fails_validation() -> None:
    with pytest.raises(ValidationError, match="badge_id: integer out of the 64-bit range"):
        LeadSubmission(email="dana@acme.example", custom_fields={"badge_id": 10**30})


def test_a_submission_with_a_nul_in_a_campaign_field_fails_validation() -> None:
    with pytest.raises(ValidationError, match="NUL character"):
        LeadSubmission.model_validate({"email": "dana@acme.example", "campaign": {"utm_source": "x\x00"}})


def test_an_activity_with_a_nul_in_its_details_fails_validation() -> None:
    with pytest.raises(ValidationError, match="details"):
        ActivityRecorded.model_validate(
            {
                "activity_id": "a-1",
                "email": "dana@acme.example",
                "activity_type": "page_visited",
                "occurred_at": "2026-03-04T10:15:00Z",
                "details": {"url": "https://acme.example/\x00"},
            }
        )


def test_the_stored_copy_replaces_what_cannot_be_stored_and_keeps_the_rest() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(20):
        node.append([])
        node = node[0]  # type: ignore[assignment]

    copy = storable_copy({"na\x00me": "Da\x00na", "n": 10**30, "ok": [1, 2.5, True, None], "deep": deep})

    assert copy["na\ufffdme"] == "Da\ufffdna"
    assert copy["n"] == str(10**30)
    assert copy["ok"] == [1, 2.5, True, None]
    assert json_problem(copy) is None
