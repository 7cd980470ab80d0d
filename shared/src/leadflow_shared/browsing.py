"""Lists people browse: a sort chosen from a few keys, a text search, keyset paging on (sort key, id), and
the same page as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

import asyncpg
import orjson
from fastapi import HTTPException, Query, Request, status
from fastapi.responses import Response

from leadflow_shared.bounds import MAX_BIGINT, MAX_MONEY, MAX_NAME, SafeText
from leadflow_shared.pagination import (
    MAX_CURSOR_LENGTH,
    BadCursor,
    CursorPage,
    date_part,
    decode_cursor,
    encode_cursor,
    moment_part,
    sequence_part,
    uuid_part,
)

CSV_MAX_ROWS = 10_000
PageAnswer = TypeVar("PageAnswer", bound=CursorPage[Any])
CSV_TYPE = "text/csv; charset=utf-8"

SearchText = Annotated[
    SafeText | None,
    Query(max_length=MAX_NAME, description="case-insensitive text the row's searchable fields contain"),
]
Cursor = Annotated[
    str | None, Query(max_length=MAX_CURSOR_LENGTH, description="next_cursor of the previous page")
]
Format = Annotated[
    Literal["json", "csv"] | None, Query(description="csv: the page as CSV (or Accept: text/csv)")
]

CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "The page; as CSV with format=csv or Accept: text/csv (up to 10,000 rows, the next"
        " page's cursor in the X-Next-Cursor header)",
    }
}


def _text(value: str) -> str:
    return value


def _number(value: str) -> Decimal:
    """A decimal sort key: finite and within the amounts the services store."""
    try:
        number = Decimal(value)
    except ArithmeticError as error:
        raise BadCursor(f"cursor value {value!r} is not a number") from error
    if not number.is_finite() or abs(number) > MAX_MONEY:
        raise BadCursor(f"cursor value {value!r} is not one this service handed out")
    return number


def _integer(value: str) -> int:
    """A whole-number sort key within PostgreSQL's bigint (the sort expression casts to bigint)."""
    digits = value.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19 or abs(int(value)) > MAX_BIGINT:
        raise BadCursor(f"cursor value {value!r} is not one this service handed out")
    return int(value)


READERS: dict[str, Callable[[str], Any]] = {
    "moment": moment_part,
    "date": date_part,
    "text": _text,
    "number": _number,
    "integer": _integer,
    "sequence": sequence_part,
    "uuid": uuid_part,
}


@dataclass(frozen=True)
class SortKey:
    """A sort a list offers: the SQL of a never-NULL value and how a cursor's text reads back as it."""

    expression: str
    kind: Literal["moment", "date", "text", "number", "integer", "sequence", "uuid"]


@dataclass(frozen=True)
class Sorting:
    """The sorts of one list (`name` ascending, `-name` descending) and its row id column."""

    keys: Mapping[str, SortKey]
    default: str
    id_column: str = "id"

    def choices(self) -> list[str]:
        """Every accepted value of the sort parameter."""
        return [s for key in self.keys for s in (key, f"-{key}")]


@dataclass
class Page:
    """One page of rows and the cursor of the next, if any."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass
class ListQuery:
    """A list query under construction: WHERE parts and their arguments, numbered as added."""

    where: list[str]
    args: list[Any]

    def add(self, condition: str, *values: Any) -> None:
        """A condition whose placeholders {0}, {1}, ... name the values given."""
        numbers = []
        for value in values:
            self.args.append(value)
            numbers.append(f"${len(self.args)}")
        self.where.append(condition.format(*numbers))

    def clause(self) -> str:
        """The WHERE clause, or nothing."""
        return f"WHERE {' AND '.join(self.where)}" if self.where else ""


def new_query() -> ListQuery:
    """An empty list query."""
    return ListQuery([], [])


def search(query: ListQuery, text: str | None, columns: Sequence[str]) -> None:
    """Keep rows where a column contains the text, ignoring case (LIKE's wildcards taken literally)."""
    if not text:
        return
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query.args.append(pattern)
    number = f"${len(query.args)}"
    query.where.append("(" + " OR ".join(f"{c} ILIKE {number}" for c in columns) + ")")


def keyset(query: ListQuery, sorting: Sorting, sort: str, cursor: str | None) -> tuple[str, str]:
    """Add the cursor's position to the query; the select item `sort_value` and the ORDER BY of the sort."""
    name, descending = sort.removeprefix("-"), sort.startswith("-")
    key = sorting.keys[name]
    after = "<" if descending else ">"
    direction = " DESC" if descending else ""
    # Sorted by the id itself, the position is the id alone: a plain comparison an index on it serves.
    by_id = key.expression == sorting.id_column
    if cursor:
        value, ident = decode(cursor, sort, key)
        if by_id:
            query.add(f"{sorting.id_column} {after} {{0}}", ident)
        else:
            query.add(f"({key.expression}, {sorting.id_column}) {after} ({{0}}, {{1}})", value, ident)
    order = (
        f"ORDER BY {sorting.id_column}{direction}"
        if by_id
        else (f"ORDER BY {key.expression}{direction}, {sorting.id_column}{direction}")
    )
    return f"{key.expression} AS sort_value", order


async def fetch_page(
    conn: asyncpg.Connection,
    *,
    columns: str,
    source: str,
    query: ListQuery,
    sorting: Sorting,
    sort: str,
    cursor: str | None,
    limit: int,
) -> Page:
    """SELECT the columns FROM the source under the query's conditions: one page in the sort's order."""
    sort_value, order = keyset(query, sorting, sort, cursor)
    query.args.append(limit + 1)
    rows = await conn.fetch(
        f"SELECT {columns}, {sort_value} FROM {source} {query.clause()} {order} LIMIT ${len(query.args)}",
        *query.args,
    )
    return page(rows, limit, sort)


def page(rows: Sequence[Mapping[str, Any]], limit: int, sort: str) -> Page:
    """The first `limit` rows (of limit + 1 fetched, each with its sort_value) and the next page's cursor."""
    items = [dict(row) for row in rows[:limit]]
    more = len(rows) > limit
    return Page(items, encode(sort, items[-1]["sort_value"], items[-1]["id"]) if more else None)


def encode(sort: str, value: Any, ident: Any) -> str:
    """An opaque cursor: the sort it belongs to and the last row's sort key and id."""
    return encode_cursor(sort, value, ident)


def decode(cursor: str, sort: str, key: SortKey) -> tuple[Any, Any]:
    """The sort key and id a cursor carries; BadCursor when it is not one of ours or of another sort."""
    value, ident = decode_cursor(cursor, sort, 2)
    return READERS[key.kind](value), sequence_part(ident) if ident.isdigit() else uuid_part(ident)


def wants_csv(request: Request, fmt: str | None) -> bool:
    """Whether the caller asked for CSV, by format=csv or by an Accept header preferring text/csv."""
    if fmt is not None:
        return fmt == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def csv_response(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], next_cursor: str | None
) -> Response:
    """The rows as CSV with a header line; cells a spreadsheet would run as formulas are quoted with '."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    headers = {"X-Next-Cursor": next_cursor} if next_cursor else {}
    return Response(out.getvalue(), media_type=CSV_TYPE, headers=headers)


def respond(
    found: Page, as_csv: bool, columns: Sequence[str], answer: type[PageAnswer]
) -> Response | PageAnswer:
    """The page as the list's answer model or, when CSV was asked for, as CSV of the columns."""
    if as_csv:
        return csv_response(found.items, columns, found.next_cursor)
    return answer.model_validate({"items": found.items, "next_cursor": found.next_cursor})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = orjson.dumps(value).decode() if isinstance(value, dict | list) else str(value)
    # A cell opening with one of these is a formula in Excel, LibreOffice and Sheets (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


Limit = Annotated[
    int | None,
    Query(ge=1, le=CSV_MAX_ROWS, description="rows per page: up to 500 as JSON, up to 10,000 as CSV"),
]


def page_limit(as_csv: bool, limit: int | None, default: int, most: int = 500) -> int:
    """The rows of a page: the limit asked for, else the list's default or CSV's bound; 422 past JSON's."""
    if limit is None:
        return CSV_MAX_ROWS if as_csv else default
    if not as_csv and limit > most:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"limit: {limit} is over {most} rows for a JSON page (CSV takes up to {CSV_MAX_ROWS})",
        )
    return limit
