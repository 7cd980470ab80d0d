"""Source KPI rates: how often a delivery reached a lead known already, and how much went to quarantine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class SourceRates:
    """A period's rates, rounded to four places; 0.0 when there was nothing to count."""

    duplicate_rate: float
    rejection_rate: float


def source_rates(*, touches: int, new_leads: int, merged_leads: int, rejections: int) -> SourceRates:
    """The share of touches that reached a lead seen before, and of deliveries that were rejected."""
    # A lead created in the period and merged away since was a duplicate too, so it counts as seen again.
    seen_again = touches - new_leads + merged_leads
    deliveries = touches + rejections
    return SourceRates(
        duplicate_rate=round(seen_again / touches, 4) if touches else 0.0,
        rejection_rate=round(rejections / deliveries, 4) if deliveries else 0.0,
    )


@dataclass(frozen=True)
class EdgeDay:
    """The part [start, end) of one UTC day that a window covers when it does not cover the whole day."""

    day: date
    start: datetime
    end: datetime

    @property
    def rest(self) -> tuple[tuple[datetime, datetime], ...]:
        """The parts of the day outside the window (one or two, none empty)."""
        midnight = datetime.combine(self.day, time(), UTC)
        parts = ((midnight, self.start), (self.end, midnight + timedelta(days=1)))
        return tuple((lo, hi) for lo, hi in parts if lo < hi)


@dataclass(frozen=True)
class WindowDays:
    """A window [start, end) as the UTC days it covers whole, [first_day, end_day), and its partial days."""

    first_day: date
    end_day: date
    edges: tuple[EdgeDay, ...]


def window_days(start: datetime, end: datetime) -> WindowDays:
    """Split a window into whole UTC days and at most two partial days at its edges (naive times are UTC)."""
    start, end = _utc(start), _utc(end)
    if start >= end:
        return WindowDays(start.date(), start.date(), ())
    first, last = start.date(), end.date()
    first_midnight = datetime.combine(first, time(), UTC)
    last_midnight = datetime.combine(last, time(), UTC)
    if first == last:
        return WindowDays(first, first, (EdgeDay(first, start, end),))
    edges: list[EdgeDay] = []
    if start > first_midnight:
        edges.append(EdgeDay(first, start, first_midnight + timedelta(days=1)))
        first += timedelta(days=1)
    if end > last_midnight:
        edges.append(EdgeDay(last, last_midnight, end))
    return WindowDays(first, last, tuple(edges))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
