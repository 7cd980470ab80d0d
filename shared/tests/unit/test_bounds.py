"""Bounded value types: times and days are ISO 8601 text within the range the database computes with."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from leadflow_shared.bounds import Day, Moment

moments = TypeAdapter(Moment)
days = TypeAdapter(Day)


@pytest.mark.parametrize("value", ["0.5", "0", 0.5, 1_700_000_000, "1700000000", "", "soon"])
def test_a_number_or_other_text_is_not_a_moment(value: object) -> None:
    with pytest.raises(ValidationError, match="ISO 8601"):
        moments.validate_python(value)


@pytest.mark.parametrize("value", ["0", 0, "20261206", 1.5])
def test_a_number_is_not_a_day(value: object) -> None:
    with pytest.raises(ValidationError, match="ISO 8601"):
        days.validate_python(value)


def test_iso_text_and_datetimes_are_moments_within_range() -> None:
    assert moments.validate_python("2026-12-06T10:00:00Z") == datetime(2026, 12, 6, 10, tzinfo=UTC)
    assert moments.validate_python(datetime(2026, 12, 6, tzinfo=UTC)) == datetime(2026, 12, 6, tzinfo=UTC)
    with pytest.raises(ValidationError, match="between 1900-01-01 and 9000-01-01"):
        moments.validate_python("0041-06-17T10:38:33Z")


def test_iso_text_and_dates_are_days_within_range() -> None:
    assert days.validate_python("2026-12-31") == date(2026, 12, 31)
    assert days.validate_python(date(2026, 12, 31)) == date(2026, 12, 31)
    with pytest.raises(ValidationError, match="between 1900-01-01 and 9000-01-01"):
        days.validate_python("1899-12-31")
