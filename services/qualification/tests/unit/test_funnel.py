"""The funnel report from database figures: rates, medians in hours, empty reports.

What the database counts for given journeys is checked in tests/service/test_funnel_kpis.py.
"""

from datetime import timedelta

from leadflow_qualification.domain.funnel import (
    FUNNEL_STEPS,
    FunnelFigures,
    Middles,
    conversion_rate,
    funnel_report,
    hours,
    median_hours,
)
from leadflow_qualification.domain.statuses import BaseCategory

OPEN, CONTACTED = BaseCategory.OPEN, BaseCategory.CONTACTED
US_PER_HOUR = 3_600_000_000


def test_durations_are_hours_as_timedelta_gives_them() -> None:
    span = timedelta(hours=4, minutes=7, microseconds=3)

    assert hours(span // timedelta(microseconds=1)) == span.total_seconds() / 3600


def test_the_median_is_the_middle_value_or_the_mean_of_the_two_middle_values_to_two_decimals() -> None:
    assert median_hours(Middles(3, 6 * US_PER_HOUR, 6 * US_PER_HOUR)) == 6
    assert median_hours(Middles(2, 24 * US_PER_HOUR, 48 * US_PER_HOUR)) == 36
    assert median_hours(Middles(1, US_PER_HOUR // 3, US_PER_HOUR // 3)) == 0.33


def test_a_conversion_rate_from_a_status_nobody_reached_is_none() -> None:
    assert conversion_rate(entered=0, reached=0) is None
    assert conversion_rate(entered=3, reached=1) == 0.3333


def test_the_report_lists_every_step_in_funnel_order() -> None:
    report = funnel_report(FunnelFigures(leads=4, steps={(OPEN, CONTACTED): (4, 2)}))

    assert list(report.conversion) == [f"{a}->{b}" for a, b in FUNNEL_STEPS]
    assert report.conversion["open->contacted"] == 0.5
    assert report.conversion["contacted->qualified"] is None


def test_no_leads_give_an_empty_report() -> None:
    report = funnel_report(FunnelFigures())

    assert report.leads == 0
    assert report.median_hours_to_first_contact is None
    assert all(rate is None for rate in report.conversion.values())
    assert (report.by_status, report.median_hours_in_status, report.disqualification_reasons) == ({}, {}, {})
