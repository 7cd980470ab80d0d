"""What PostgreSQL can store: checks for input models, and a lossy copy for keeping refused input."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

# PostgreSQL text and jsonb refuse NUL; lone surrogates are not UTF-8 at all.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"
# jsonb keeps any number, but the JSON codec and every reader of an event stop at 64 bits.
MIN_INT, MAX_INT = -(2**63), 2**63 - 1
# Custom fields are flat in every source we know; deeper nesting is a mistake or an attack.
MAX_DEPTH = 16


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored, or None when it can."""
    found = UNSTORABLE.search(value)
    if found is None:
        return None
    char = found.group()
    name = "a NUL character" if char == "\x00" else f"a lone surrogate (U+{ord(char):04X})"
    return f"contains {name} at position {found.start()}, which cannot be stored"


def storable_text(value: str) -> str:
    """The string itself; raises ValueError when PostgreSQL text cannot hold it."""
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def json_problem(value: Any, path: str = "", depth: int = 0) -> str | None:
    """Where and why a JSON value cannot be stored as jsonb and read back by every service, or None."""
    if isinstance(value, str):
        problem = text_problem(value)
        return f"{path or 'value'}: {problem}" if problem else None
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    if isinstance(value, int):
        if MIN_INT <= value <= MAX_INT:
            return None
        return f"{path or 'value'}: integer out of the 64-bit range"
    if depth >= MAX_DEPTH and isinstance(value, Mapping | list | tuple):
        return f"{path or 'value'}: nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, Mapping):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and (problem := text_problem(key)):
                return f"{inner}: key {problem}"
            if found := json_problem(item, inner, depth + 1):
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if found := json_problem(item, f"{path}[{index}]", depth + 1):
                return found
        return None
    return None


def storable_json(value: T) -> T:
    """The JSON value itself; raises ValueError naming the first place jsonb cannot hold."""
    problem = json_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def storable_copy(value: Any, depth: int = 0) -> Any:
    """A copy of refused input that jsonb can keep: unstorable characters replaced, big numbers as text,
    deep nesting cut off with a note, so the evidence survives even when the input itself cannot."""
    if isinstance(value, str):
        return UNSTORABLE.sub(REPLACEMENT, value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if MIN_INT <= value <= MAX_INT else str(value)
    if isinstance(value, Mapping | list | tuple) and depth >= MAX_DEPTH:
        return f"(nested deeper than {MAX_DEPTH} levels, cut off)"
    if isinstance(value, Mapping):
        return {UNSTORABLE.sub(REPLACEMENT, str(k)): storable_copy(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_copy(item, depth + 1) for item in value]
    return UNSTORABLE.sub(REPLACEMENT, str(value))
