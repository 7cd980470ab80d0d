"""Keyset cursors: opaque, one format, round-trip the sort key, refuse what the service never handed out."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from uuid import UUID

import pytest

from leadflow_shared.pagination import BadCursor, decode_cursor, decode_moment_cursor, encode_cursor

LAST_SEEN = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
LEAD = UUID("6f1d3c1e-9d0a-4b44-8a55-3a0e5f4c9b10")


def test_a_cursor_carries_the_sort_key_of_the_last_item_back() -> None:
    cursor = encode_cursor("created_at", LAST_SEEN, LEAD)
    assert decode_cursor(cursor, "created_at", 2) == ["2026-11-27T10:00:00+00:00", str(LEAD)]
    assert decode_moment_cursor(cursor, "created_at") == (LAST_SEEN, LEAD)


def test_no_cursor_is_the_first_page() -> None:
    assert decode_moment_cursor(None, "created_at") is None


def test_a_cursor_of_another_order_is_refused_naming_both() -> None:
    with pytest.raises(BadCursor, match="belongs to sort 'received_at', not 'created_at'"):
        decode_cursor(encode_cursor("received_at", LAST_SEEN, LEAD), "created_at", 2)


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        encode_cursor("created_at", "only-one-part"),
        "////",
        # The format handed out before there was one: "time|id" in base64.
        base64.urlsafe_b64encode(f"{LAST_SEEN.isoformat()}|{LEAD}".encode()).decode(),
    ],
)
def test_a_cursor_the_service_never_handed_out_is_refused(cursor: str) -> None:
    with pytest.raises(BadCursor, match="not one this service handed out: start again without it"):
        decode_cursor(cursor, "created_at", 2)


def test_a_cursor_holding_a_nul_is_refused_before_postgresql_sees_it() -> None:
    with pytest.raises(BadCursor, match="NUL"):
        decode_cursor(encode_cursor("last_name", "Ada\x00", LEAD), "last_name", 2)
