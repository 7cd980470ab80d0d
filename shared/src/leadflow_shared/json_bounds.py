"""Bounds every JSON body must keep before a route sees it: nesting depth, 64-bit integers, clean strings."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

MAX_DEPTH = 32
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
# PostgreSQL text and jsonb refuse NUL, and a lone surrogate cannot be encoded as UTF-8 at all: either would
# turn an accepted request into a 500 (or a poisoned event) further down.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Only these escapes, or a raw UTF-8 surrogate (json decodes bytes with surrogatepass), put a NUL or a lone
# surrogate into a string: a document without them needs no look at its strings.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


@dataclass(frozen=True)
class JsonProblem:
    """What is wrong with a JSON document, and where (dotted path; "body" for the document itself)."""

    field: str
    message: str


class _Refused(ValueError):
    pass


def _constant(name: str) -> float:
    raise _Refused(f"{name} is not a JSON number")


def parse_bounded(raw: bytes, max_depth: int = MAX_DEPTH) -> JsonProblem | None:
    """The first bound the document breaks, or None when it keeps them all or is not JSON at all."""
    suspect = False

    def whole(text: str) -> int:
        nonlocal suspect
        if len(text.lstrip("-")) > 19:
            # Past 19 digits it is out of range anyway; converting thousands of digits would cost (or raise).
            suspect = True
            return INT_MAX + 1
        value = int(text)
        suspect = suspect or not INT_MIN <= value <= INT_MAX
        return value

    def real(text: str) -> float:
        nonlocal suspect
        value = float(text)
        suspect = suspect or not math.isfinite(value)
        return value

    try:
        value = json.loads(raw, parse_int=whole, parse_float=real, parse_constant=_constant)
    except _Refused as exc:
        return JsonProblem("body", str(exc))
    except RecursionError:
        return JsonProblem("body", f"nested deeper than {max_depth} levels")
    except ValueError:
        # Not JSON: the route answers that in its own words (FastAPI's 422, a webhook's 400).
        return None
    # The walk below finds the path of a problem; most documents show at a glance that they have none.
    shallow = raw.count(b"[") + raw.count(b"{") <= max_depth
    if not suspect and shallow and b"\xed" not in raw and _SUSPECT_ESCAPE.search(raw) is None:
        return None
    return find_problem(value, max_depth)


def find_problem(value: object, max_depth: int = MAX_DEPTH) -> JsonProblem | None:
    """The first bound a parsed JSON value breaks, with the path of the offending value."""
    found = _walk(value, 0, max_depth)
    if found is None:
        return None
    path, message = found
    return JsonProblem(_dotted(path[::-1]), message)


def _walk(value: object, depth: int, max_depth: int) -> tuple[list[str | int], str] | None:
    if isinstance(value, str):
        return _string_problem(value, "string")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if INT_MIN <= value <= INT_MAX:
            return None
        return [], "integer outside the signed 64-bit range"
    if isinstance(value, float):
        return None if math.isfinite(value) else ([], "number too large to represent")
    if depth >= max_depth:
        return [], f"nested deeper than {max_depth} levels"
    if isinstance(value, dict):
        for key, item in value.items():
            bad_key = _string_problem(key, "key")
            if bad_key is not None:
                return [key], bad_key[1]
            found = _walk(item, depth + 1, max_depth)
            if found is not None:
                found[0].append(key)
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _walk(item, depth + 1, max_depth)
            if found is not None:
                found[0].append(index)
                return found
    return None


def _string_problem(text: str, what: str) -> tuple[list[str | int], str] | None:
    bad = _UNSTORABLE.search(text)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return [], f"{what} contains a NUL character (\\u0000)"
    return [], f"{what} contains a lone surrogate (\\u{ord(bad.group()):04x})"


def _dotted(path: list[str | int]) -> str:
    text = ""
    for part in path:
        # A key holding a lone surrogate could not even be written into the answer: escape it.
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += "." + part.encode("utf-8", "backslashreplace").decode()
    return text.removeprefix(".") or "body"
