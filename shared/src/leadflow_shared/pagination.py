"""Opaque keyset-pagination cursors, the same for every service's list endpoints."""

from __future__ import annotations

import base64
import binascii


class BadCursor(ValueError):
    """A cursor this service did not hand out."""


def encode_cursor(*parts: object) -> str:
    """An opaque cursor carrying the sort key of the last item of a page."""
    return base64.urlsafe_b64encode("|".join(str(p) for p in parts).encode()).decode()


def decode_cursor(cursor: str, parts: int) -> list[str]:
    """The sort key a cursor carries, as text; BadCursor when it is not one of ours."""
    try:
        values = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    except (ValueError, UnicodeDecodeError, binascii.Error) as error:
        raise BadCursor(f"cursor {cursor!r} is not one this service handed out") from error
    if len(values) != parts:
        raise BadCursor(f"cursor {cursor!r} is not one this service handed out")
    return values
