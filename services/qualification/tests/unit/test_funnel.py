"""The funnel report from database figures: rates, medians in hours, empty reports.

What the database counts for given journeys is checked in tests/service/test_funnel_kpis.py.
"""

import importlib
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

from leadflow_qualification.domain.funnel import (
    BUCKET_THRESHOLDS,
    DISQUALIFIED,
    FUNNEL_STEPS,
    MAX_LEVEL,
    FunnelFigures,
    Middles,
    bucket_of_rank,
    bucket_value,
    cells_work,
    conversion_rate,
    day_of,
    day_start,
    days_of,
    funnel_report,
    hours,
    idle_since,
    median_hours,
    middle_ranks,
    nodes_covering,
    nodes_within,
    usable_nodes,
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


def test_a_lead_is_idle_from_the_first_microsecond_whose_hours_reach_the_limit() -> None:
    now = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)

    def idle_hours(since: datetime) -> float:
        return float(Fraction((now - since) // timedelta(microseconds=1), 10**6)) / 3600

    assert idle_since(now, 24) == now - timedelta(hours=24)
    for limit in (0.1, 100.5, 1 / 3, 72.000000001, 336):
        since = idle_since(now, limit)
        assert idle_hours(since) >= limit > idle_hours(since + timedelta(microseconds=1))


def test_the_funnel_facts_keep_the_categories_of_the_funnel_steps_and_of_disqualification() -> None:
    facts = importlib.import_module("leadflow_qualification.migrations.versions.0004_funnel_facts")

    assert {c.value for step in FUNNEL_STEPS for c in step} <= set(facts.KEPT_CATEGORIES)
    assert {c.value for c in DISQUALIFIED} == set(facts.DISQUALIFIED_CATEGORIES)


def test_a_day_is_counted_in_utc_from_1970() -> None:
    assert day_of(datetime(1970, 1, 2, 0, 30, tzinfo=timezone(timedelta(hours=1)))) == 0
    assert day_start(day_of(datetime(2026, 11, 27, 8, tzinfo=UTC))) == datetime(2026, 11, 27, tzinfo=UTC)


def test_the_nodes_of_a_run_of_days_cover_it_exactly_with_the_fewest_aligned_runs() -> None:
    for first, stop in ((0, 0), (3, 4), (3, 17), (20_000, 20_190), (-5, 9), (0, 3000)):
        nodes = nodes_covering(first, stop)
        days = [day for node in nodes for day in days_of(node)]

        assert days == list(range(first, stop))
        assert all(lvl <= MAX_LEVEL for lvl, _ in nodes)
    assert nodes_covering(3, 17) == [(0, 3), (2, 1), (3, 1), (0, 16)]


def test_the_nodes_within_a_run_of_days_are_every_aligned_run_of_every_level_inside_it() -> None:
    assert nodes_within(3, 9) == [
        *((0, day) for day in range(8, 2, -1)),
        (1, 3),
        (1, 2),
        (2, 1),
    ]
    for first, stop in ((0, 3000), (-5, 40), (20_000, 20_190)):
        within = nodes_within(first, stop)

        assert all(first <= day < stop for node in within for day in days_of(node))
        assert len(within) == sum(
            1
            for lvl in range(MAX_LEVEL + 1)
            for day in range(first, stop)
            if day % 2**lvl == 0 and day + 2**lvl <= stop
        )


def test_a_round_forgets_the_latest_changed_days_and_builds_the_latest_missing_days_first() -> None:
    built = {*((0, day) for day in range(8)), (1, 0), (1, 1), (1, 2), (1, 3), (2, 0), (2, 1), (3, 0)}

    work = cells_work(0, 12, changed=[2, 9, 2, 6], built=built, max_days=2, max_nodes=10)

    # 9 and 6 first; 6 and the nodes above it are forgotten, 11 and 10 built, then the pairs they complete
    assert (work.forget, work.days) == ([9, 6], [11, 10])
    assert work.nodes == [(1, 5)]
    assert work.more


def test_rounds_build_every_node_inside_the_days_from_their_halves_within_their_limits() -> None:
    built: set[tuple[int, int]] = set()
    changed = [3, 17]
    rounds = 0
    while True:
        work = cells_work(1, 40, changed, built, max_days=5, max_nodes=4)
        built -= {(lvl, day >> lvl) for day in work.forget for lvl in range(MAX_LEVEL + 1)}
        for lvl, number in work.nodes:
            assert {(lvl - 1, 2 * number), (lvl - 1, 2 * number + 1)} <= built | {(0, d) for d in work.days}
            built.add((lvl, number))
        built |= {(0, day) for day in work.days}
        assert len(work.days) <= 5
        assert len(work.nodes) <= 4
        changed = [day for day in changed if day not in work.forget]
        rounds += 1
        if not work.more:
            break

    assert built == set(nodes_within(1, 40))
    assert rounds > 1
    assert not cells_work(1, 40, [], built, 5, 4).done


def test_a_round_without_facts_only_forgets_the_changed_days() -> None:
    work = cells_work(None, 12, changed=[4], built={(0, 4), (1, 2)}, max_days=8, max_nodes=8)

    assert (work.forget, work.days, work.nodes, work.more) == ([4], [], [], False)


def test_a_changed_or_unbuilt_day_splits_its_nodes_and_is_counted_from_the_facts() -> None:
    nodes = nodes_covering(8, 24)
    built = {(3, 1), (2, 4), (1, 8), (0, 18), (2, 5)}

    usable, days = usable_nodes(nodes, built, changed={19, 30})

    assert usable == [(3, 1), (1, 8), (0, 18), (2, 5)]
    assert days == [19]


def test_only_zero_and_the_one_microsecond_buckets_hold_a_single_duration() -> None:
    single = {bucket: bucket_value(bucket) for bucket in range(len(BUCKET_THRESHOLDS) + 1)}

    assert single[0] == 0
    assert single[1] == 1
    assert single[12] == 12
    assert BUCKET_THRESHOLDS[12] == 13
    assert all(
        value is None or BUCKET_THRESHOLDS[bucket] == value + 1 for bucket, value in single.items() if bucket
    )
    assert single[len(BUCKET_THRESHOLDS)] is None  # the last bucket is open-ended
    assert single[100] is None
    cells = importlib.import_module("leadflow_qualification.migrations.versions.0005_funnel_cells")
    assert list(BUCKET_THRESHOLDS) == cells.THRESHOLDS


def test_the_middles_are_found_by_bucket_and_rank_within_it() -> None:
    histogram = {7: 2, 3: 1, 12: 4}

    assert middle_ranks(7) == (4, 4)
    assert middle_ranks(6) == (3, 4)
    assert bucket_of_rank(histogram, 1) == (3, 1)
    assert bucket_of_rank(histogram, 3) == (7, 2)
    assert bucket_of_rank(histogram, 4) == (12, 1)
