"""Keyset pages and their opaque cursors, one format for every list: base64url JSON of order, key, id."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Generic, TypeVar
from uuid import UUID

import orjson
from pydantic import BaseModel

from leadflow_shared.bounds import EARLIEST, LATEST, MAX_BIGINT

# Our cursors carry an order, a sort key and an id; anything far longer is not one of ours.
MAX_CURSOR_LENGTH = 1024


Item = TypeVar("Item")


class CursorPage(BaseModel, Generic[Item]):
    """One page of a list; pass next_cursor back as cursor for the next (null: no more)."""

    items: list[Item]
    next_cursor: str | None


class BadCursor(ValueError):
    """A cursor this service did not hand out."""


def encode_cursor(order: str, *parts: object) -> str:
    """An opaque cursor: the order it belongs to and the sort key of the last item of a page."""
    text = [p.isoformat() if isinstance(p, date | datetime) else str(p) for p in parts]
    return base64.urlsafe_b64encode(orjson.dumps([order, *text])).decode()


def decode_cursor(cursor: str, order: str, parts: int) -> list[str]:
    """The sort key a cursor of this order carries, as text; BadCursor when it is not one of ours."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise BadCursor(f"cursor of {len(cursor)} characters is not one this service handed out")
    refused = BadCursor(f"cursor {cursor[:40]!r} is not one this service handed out: start again without it")
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error) as error:
        # Cursors of an earlier format ("time|id" in base64) end here too.
        raise refused from error
    if not (
        isinstance(values, list) and len(values) == parts + 1 and all(isinstance(v, str) for v in values)
    ):
        raise refused
    if values[0] != order:
        raise BadCursor(f"the cursor belongs to sort {values[0]!r}, not {order!r}: start again without it")
    # orjson refuses lone surrogates already; NUL is the one character left that PostgreSQL's text refuses.
    if any("\x00" in v for v in values[1:]):
        raise BadCursor("cursor value holds a NUL character")
    return values[1:]


def decode_moment_cursor(cursor: str | None, order: str) -> tuple[datetime, UUID] | None:
    """The (time, id) of a cursor of a list paged by them; None for no cursor."""
    if not cursor:
        return None
    moment, row_id = decode_cursor(cursor, order, 2)
    return moment_part(moment), uuid_part(row_id)


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
