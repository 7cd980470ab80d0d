"""Opaque keyset-pagination cursors, the same for every service's list endpoints."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from uuid import UUID

from leadflow_shared.bounds import EARLIEST, LATEST, MAX_BIGINT

# Our cursors carry a timestamp and a UUID at most; anything far longer is not one of ours.
MAX_CURSOR_LENGTH = 256


class BadCursor(ValueError):
    """A cursor this service did not hand out."""


def encode_cursor(*parts: object) -> str:
    """An opaque cursor carrying the sort key of the last item of a page."""
    return base64.urlsafe_b64encode("|".join(str(p) for p in parts).encode()).decode()


def decode_cursor(cursor: str, parts: int) -> list[str]:
    """The sort key a cursor carries, as text; BadCursor when it is not one of ours."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise BadCursor(f"cursor of {len(cursor)} characters is not one this service handed out")
    try:
        values = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    except (ValueError, UnicodeDecodeError, binascii.Error) as error:
        raise BadCursor(f"cursor {cursor!r} is not one this service handed out") from error
    if len(values) != parts or "\x00" in "".join(values):
        raise BadCursor(f"cursor {cursor!r} is not one this service handed out")
    return values


def moment_part(text: str) -> datetime:
    """A cursor's timestamp, with a timezone and inside the range the database stores."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise BadCursor(f"cursor time {text!r} is not a timestamp") from error
    if moment.tzinfo is None or not EARLIEST <= moment <= LATEST:
        raise BadCursor(f"cursor time {text!r} is not one this service handed out")
    return moment


def date_part(text: str) -> date:
    """A cursor's calendar date."""
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise BadCursor(f"cursor date {text!r} is not a date") from error


def uuid_part(text: str) -> UUID:
    """A cursor's row id."""
    try:
        return UUID(text)
    except ValueError as error:
        raise BadCursor(f"cursor id {text!r} is not a UUID") from error


def sequence_part(text: str) -> int:
    """A cursor's sequence number, a non-negative PostgreSQL bigint."""
    if not text.isascii() or not text.isdigit() or len(text) > 19 or int(text) > MAX_BIGINT:
        raise BadCursor(f"cursor position {text!r} is not one this service handed out")
    return int(text)
