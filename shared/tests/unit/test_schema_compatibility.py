"""Event schemas may grow but never break the consumers that read them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from leadflow_shared.contracts.schemas import check, incompatibilities


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(mode="serialization")


class Version1(BaseModel):
    lead_id: str
    score: int
    note: str | None = None


class AddsAnOptionalField(BaseModel):
    lead_id: str
    score: int
    note: str | None = None
    owner: str | None = None


class RemovesAField(BaseModel):
    lead_id: str
    score: int


class RetypesAField(BaseModel):
    lead_id: str
    score: str
    note: str | None = None


class RequiresANewField(BaseModel):
    lead_id: str
    score: int
    note: str | None = None
    owner: str


class MakesAFieldRequired(BaseModel):
    lead_id: str
    score: int
    note: str


def test_the_committed_schemas_match_the_code() -> None:
    assert check() == []


def test_adding_an_optional_field_is_compatible() -> None:
    assert incompatibilities(schema_of(Version1), schema_of(AddsAnOptionalField)) == []


def test_removing_a_field_is_incompatible() -> None:
    assert incompatibilities(schema_of(Version1), schema_of(RemovesAField)) == ["data.note: field removed"]


def test_changing_a_fields_type_is_incompatible() -> None:
    [problem] = incompatibilities(schema_of(Version1), schema_of(RetypesAField))
    assert problem.startswith("data.score: type changed")


def test_a_new_required_field_is_incompatible() -> None:
    assert incompatibilities(schema_of(Version1), schema_of(RequiresANewField)) == [
        "data.owner: field is required now"
    ]


def test_making_an_optional_field_required_is_incompatible() -> None:
    problems = incompatibilities(schema_of(Version1), schema_of(MakesAFieldRequired))
    assert "data.note: field is required now" in problems
