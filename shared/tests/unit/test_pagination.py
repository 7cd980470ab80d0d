"""Keyset cursors: opaque, round-trip the sort key, refuse what the service never handed out."""

from __future__ import annotations

import pytest

from leadflow_shared.pagination import BadCursor, decode_cursor, encode_cursor


def test_a_cursor_carries_the_sort_key_of_the_last_item_back() -> None:
    cursor = encode_cursor("2026-11-27T10:00:00+00:00", "6f1d3c1e-9d0a-4b44-8a55-3a0e5f4c9b10")
    assert decode_cursor(cursor, 2) == ["2026-11-27T10:00:00+00:00", "6f1d3c1e-9d0a-4b44-8a55-3a0e5f4c9b10"]


@pytest.mark.parametrize("cursor", ["not base64 at all!", encode_cursor("only-one-part"), "////"])
def test_a_cursor_the_service_never_handed_out_is_refused(cursor: str) -> None:
    with pytest.raises(BadCursor, match="not one this service handed out"):
        decode_cursor(cursor, 2)
