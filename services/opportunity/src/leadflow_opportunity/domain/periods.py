"""Calendar periods used for close dates and forecasts."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum


class Period(StrEnum):
    """The length of one forecast period."""

    MONTH = "month"
    QUARTER = "quarter"


def quarter_of(day: date) -> int:
    """The calendar quarter (1-4) a day falls in."""
    return (day.month - 1) // 3 + 1


def end_of_quarter(day: date) -> date:
    """The last day of the calendar quarter that holds the day."""
    last_month = quarter_of(day) * 3
    if last_month == 12:
        return date(day.year, 12, 31)
    return date(day.year, last_month + 1, 1) - timedelta(days=1)


def period_label(day: date, period: Period) -> str:
    """A sortable label for the period holding the day, e.g. 2026-11 or 2026-Q4."""
    if period is Period.MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year:04d}-Q{quarter_of(day)}"
