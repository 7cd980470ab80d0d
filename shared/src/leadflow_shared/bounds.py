"""Bounded value types for what callers send: text PostgreSQL can store, times it can compute with."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

# Far beyond any real lead, yet far enough inside Python's datetime range that a 30-day window or a
# UTC offset never overflows, and inside what PostgreSQL's timestamptz stores.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1
# Ten years: any longer and a limit means "never", which is what leaving it out says.
MAX_HOURS = 10 * 365 * 24.0
MAX_NAME = 200
MAX_TEXT = 2000
MAX_ITEMS = 500
# Amounts are stored as numeric(18, 2): sixteen digits before the point.
MAX_MONEY = Decimal(10) ** 15


def no_nul(text: str) -> str:
    """The text itself; ValueError when it holds a NUL."""
    # PostgreSQL text and jsonb refuse the NUL character, so it must be refused before a query.
    if "\x00" in text:
        raise ValueError("must not contain the NUL character")
    return text


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_only(value: object) -> object:
    """The value itself when it is a date or an ISO 8601 text; a number is refused, not read as Unix time."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    raise ValueError("must be an ISO 8601 date or date-time (YYYY-MM-DD...)")


def _day_within_range(day: date) -> date:
    if not EARLIEST.date() <= day <= LATEST.date():
        raise ValueError(f"must lie between {EARLIEST.date()} and {LATEST.date()}")
    return day


def _within_range(moment: datetime) -> datetime:
    probe = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not EARLIEST <= probe <= LATEST:
        raise ValueError(f"must lie between {EARLIEST.date()} and {LATEST.date()}")
    return moment


SafeText = Annotated[str, AfterValidator(no_nul)]
"""Text without NUL characters, of any length."""

Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME), AfterValidator(no_nul)]
"""A short non-empty label: a status, team, member, stage or reason."""

Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(no_nul)]
"""Free text such as a description."""

Moment = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_within_range)]
"""An ISO 8601 timestamp between 1900 and 9000."""

Day = Annotated[date, BeforeValidator(_iso_only), AfterValidator(_day_within_range)]
"""An ISO 8601 date between 1900 and 9000."""

Hours = Annotated[float, Field(gt=0, le=MAX_HOURS)]
"""A positive duration in hours, at most ten years."""

Names = Annotated[tuple[Name, ...], Field(max_length=MAX_ITEMS)]
"""A bounded list of labels: industries, countries, keywords, domains, members."""

Money = Annotated[Decimal, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False)]
"""A non-negative amount the database's numeric(18, 2) columns hold."""
