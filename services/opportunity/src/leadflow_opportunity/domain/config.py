"""Base for the organisation's own configuration data: immutable, strict, with plain-spoken errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class ConfigModel(BaseModel):
    """Immutable configuration that refuses fields it does not know, naming them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in cls.model_fields)
            if unknown:
                known = ", ".join(sorted(cls.model_fields))
                names = ", ".join(map(repr, unknown))
                raise ValueError(f"unknown field {names} in {cls.__name__}; known: {known}")
        return data
