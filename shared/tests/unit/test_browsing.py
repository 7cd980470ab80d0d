"""Browsing a list: sorts, keyset positions, text search and CSV, as SQL parts and bytes."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from leadflow_shared import browsing
from leadflow_shared.pagination import BadCursor

SORTS = browsing.Sorting(
    {
        "id": browsing.SortKey("l.id", "uuid"),
        "created_at": browsing.SortKey("l.created_at", "moment"),
        "amount": browsing.SortKey("l.amount", "number"),
        "touches": browsing.SortKey("l.touches::bigint", "integer"),
        "name": browsing.SortKey("l.name", "text"),
    },
    default="created_at",
    id_column="l.id",
)
LEAD = uuid4()
MOMENT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_a_descending_sort_pages_on_with_its_position_before_the_last_row_seen() -> None:
    query = browsing.new_query()
    query.add("l.owner = {0}", "grace")
    cursor = browsing.encode("-created_at", MOMENT, LEAD)
    sort_value, order = browsing.keyset(query, SORTS, "-created_at", cursor)
    assert sort_value == "l.created_at AS sort_value"
    assert order == "ORDER BY l.created_at DESC, l.id DESC"
    assert query.clause() == "WHERE l.owner = $1 AND (l.created_at, l.id) < ($2, $3)"
    assert query.args == ["grace", MOMENT, LEAD]


def test_sorted_by_the_id_the_position_is_the_id_alone() -> None:
    query = browsing.new_query()
    _, order = browsing.keyset(query, SORTS, "id", browsing.encode("id", LEAD, LEAD))
    assert order == "ORDER BY l.id"
    assert (query.clause(), query.args) == ("WHERE l.id > $1", [LEAD])


def test_the_search_takes_like_wildcards_literally_over_every_column_named() -> None:
    query = browsing.new_query()
    browsing.search(query, "100%_sure\\", ["a.name", "a.domain"])
    browsing.search(query, None, ["a.name"])
    assert query.clause() == "WHERE (a.name ILIKE $1 OR a.domain ILIKE $1)"
    assert query.args == ["%100\\%\\_sure\\\\%"]


def test_the_next_page_cursor_is_given_only_when_more_rows_follow() -> None:
    rows = [{"id": n, "sort_value": n * 10} for n in range(1, 4)]
    more = browsing.page(rows, 2, "amount")
    last = browsing.page(rows, 3, "amount")
    assert [r["id"] for r in more.items] == [1, 2]
    assert more.next_cursor is not None
    assert browsing.decode(more.next_cursor, "amount", SORTS.keys["amount"]) == (20, 2)
    assert last.next_cursor is None


@pytest.mark.parametrize(
    ("cursor", "problem"),
    [
        (browsing.encode("amount", 5, LEAD), "belongs to sort 'amount'"),
        (browsing.encode("created_at", "yesterday", LEAD), "not a timestamp"),
        (browsing.encode("created_at", "0001-01-01T00:00:00+00:00", LEAD), "not one this service handed out"),
        (browsing.encode("created_at", MOMENT, "not-a-uuid"), "not a UUID"),
        ("bm90IGpzb24", "not one this service handed out"),
        ("W10=", "not one this service handed out"),
        (
            base64.urlsafe_b64encode(b'["created_at","\\ud800","x"]').decode(),
            "not one this service handed out",
        ),
        ("A" * 2000, "2000 characters"),
    ],
)
def test_a_cursor_not_handed_out_for_this_sort_is_refused_naming_why(cursor: str, problem: str) -> None:
    with pytest.raises(BadCursor, match=problem):
        browsing.keyset(browsing.new_query(), SORTS, "created_at", cursor)


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        ("amount", "NaN"),
        ("amount", "1e999999"),
        ("amount", "-Infinity"),
        ("amount", "twelve"),
        ("touches", "3.5"),
        ("touches", str(2**63)),
        ("touches", "\uff13"),
        ("name", "Dana\x00"),
    ],
)
def test_a_sort_value_the_database_could_not_compare_is_refused_before_the_query(
    sort: str, value: str
) -> None:
    with pytest.raises(BadCursor):
        browsing.keyset(browsing.new_query(), SORTS, sort, browsing.encode(sort, value, LEAD))


def test_whole_numbers_and_amounts_within_bounds_page_on() -> None:
    query = browsing.new_query()
    browsing.keyset(query, SORTS, "-touches", browsing.encode("-touches", -3, LEAD))
    browsing.keyset(query, SORTS, "amount", browsing.encode("amount", "48000.50", LEAD))
    assert query.args == [-3, LEAD, Decimal("48000.50"), LEAD]


def test_csv_has_a_header_line_flat_cells_and_formulas_defused() -> None:
    rows = [
        {"id": LEAD, "name": "=cmd|' /C calc'!A0", "amount": None, "tags": ["a", "b"], "at": MOMENT},
        {"id": LEAD, "name": 'Dana, "the" buyer', "amount": 12, "tags": {}, "at": MOMENT},
    ]
    response = browsing.csv_response(rows, ["id", "name", "amount", "tags", "at"], "next-page")
    parsed = list(csv.reader(io.StringIO(bytes(response.body).decode())))
    assert parsed[0] == ["id", "name", "amount", "tags", "at"]
    assert parsed[1] == [str(LEAD), "'=cmd|' /C calc'!A0", "", '["a","b"]', "2026-11-27T10:00:00+00:00"]
    assert parsed[2][1:3] == ['Dana, "the" buyer', "12"]
    assert response.headers["x-next-cursor"] == "next-page"
    assert response.media_type == browsing.CSV_TYPE
