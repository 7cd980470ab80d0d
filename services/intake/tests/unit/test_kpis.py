from datetime import UTC, date, datetime, timedelta, timezone

from leadflow_intake.domain.kpis import EdgeDay, SourceRates, WindowDays, source_rates, window_days


def test_touches_that_reached_a_known_lead_count_as_duplicates():
    rates = source_rates(touches=8, new_leads=6, merged_leads=0, rejections=0)
    assert rates.duplicate_rate == 0.25


def test_a_new_lead_merged_away_later_counts_as_a_duplicate_too():
    rates = source_rates(touches=8, new_leads=6, merged_leads=1, rejections=0)
    assert rates.duplicate_rate == 0.375


def test_the_rejection_rate_is_the_share_of_all_deliveries_that_went_to_quarantine():
    rates = source_rates(touches=3, new_leads=3, merged_leads=0, rejections=1)
    assert rates == SourceRates(duplicate_rate=0.0, rejection_rate=0.25)


def test_rates_are_rounded_to_four_places():
    rates = source_rates(touches=3, new_leads=2, merged_leads=0, rejections=1)
    assert rates == SourceRates(duplicate_rate=0.3333, rejection_rate=0.25)
    assert source_rates(touches=6, new_leads=6, merged_leads=0, rejections=1).rejection_rate == 0.1429


def test_a_quiet_period_has_rates_of_zero_not_a_division_by_zero():
    assert source_rates(touches=0, new_leads=0, merged_leads=0, rejections=0) == SourceRates(0.0, 0.0)


def test_a_period_of_only_rejections_has_no_duplicates_and_rejects_everything():
    assert source_rates(touches=0, new_leads=0, merged_leads=0, rejections=4) == SourceRates(0.0, 1.0)


MARCH_3 = datetime(2025, 3, 3, tzinfo=UTC)


def test_a_window_from_midnight_to_midnight_is_whole_days_only():
    window = window_days(MARCH_3, MARCH_3 + timedelta(days=7))
    assert window == WindowDays(date(2025, 3, 3), date(2025, 3, 10), ())


def test_a_window_cut_inside_days_has_a_partial_day_at_each_edge():
    start, end = MARCH_3 + timedelta(hours=9, minutes=30), MARCH_3 + timedelta(days=2, hours=14)
    window = window_days(start, end)
    assert (window.first_day, window.end_day) == (date(2025, 3, 4), date(2025, 3, 5))
    assert window.edges == (
        EdgeDay(date(2025, 3, 3), start, MARCH_3 + timedelta(days=1)),
        EdgeDay(date(2025, 3, 5), MARCH_3 + timedelta(days=2), end),
    )
    assert window.edges[0].rest == ((MARCH_3, start),)
    assert window.edges[1].rest == ((end, MARCH_3 + timedelta(days=3)),)


def test_a_window_within_one_day_is_one_partial_day_with_the_rest_on_both_sides():
    start, end = MARCH_3 + timedelta(hours=9), MARCH_3 + timedelta(hours=17)
    window = window_days(start, end)
    assert window.first_day == window.end_day
    assert window.edges == (EdgeDay(date(2025, 3, 3), start, end),)
    assert window.edges[0].rest == ((MARCH_3, start), (end, MARCH_3 + timedelta(days=1)))


def test_days_are_utc_days_whatever_the_offset_and_naive_times_are_utc():
    half_past_midnight_in_berlin = datetime(2025, 3, 3, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    window = window_days(half_past_midnight_in_berlin, datetime(2025, 3, 5))
    assert window == WindowDays(
        date(2025, 3, 3),
        date(2025, 3, 5),
        (EdgeDay(date(2025, 3, 2), MARCH_3 - timedelta(minutes=30), MARCH_3),),
    )


def test_an_empty_or_reversed_window_covers_nothing():
    assert window_days(MARCH_3, MARCH_3).edges == ()
    reversed_window = window_days(MARCH_3 + timedelta(days=2), MARCH_3)
    assert reversed_window.edges == ()
    assert reversed_window.first_day == reversed_window.end_day
