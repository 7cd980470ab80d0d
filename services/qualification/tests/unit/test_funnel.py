from datetime import UTC, datetime, timedelta

from leadflow_qualification.domain.funnel import (
    NO_GROUP,
    GroupBy,
    HistoryRow,
    conversion_rate,
    funnel_by,
    funnel_report,
)
from leadflow_qualification.domain.statuses import BaseCategory

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OPEN, C, Q, U, N, V, A = (
    BaseCategory.OPEN,
    BaseCategory.CONTACTED,
    BaseCategory.QUALIFIED,
    BaseCategory.UNQUALIFIED,
    BaseCategory.NURTURING,
    BaseCategory.CONVERTED,
    BaseCategory.ARCHIVED,
)


def journey(lead_id, steps, source="hubspot", campaign="black-friday", owner="lena"):
    """Rows for one lead: (hours after START, status, category, reason)."""
    rows, previous = [], None
    for hours, status, category, reason in steps:
        rows.append(
            HistoryRow(
                lead_id=lead_id,
                from_status=previous,
                to_status=status,
                category=category,
                changed_at=START + timedelta(hours=hours),
                reason=reason,
                source_system=source,
                campaign=campaign,
                owner=owner,
            )
        )
        previous = status
    return rows


ROWS = [
    # won: contacted after 4h, qualified after 2 days, converted a day later
    *journey(
        "ada",
        [
            (0, "open", OPEN, None),
            (4, "contacted", C, None),
            (52, "qualified", Q, "rule"),
            (76, "converted", V, None),
        ],
    ),
    # contacted after 10h, then no budget: nurture
    *journey("ben", [(0, "open", OPEN, None), (10, "contacted", C, None), (34, "nurturing", N, "no_budget")]),
    # never contacted: open for 25 days, stale
    *journey("cleo", [(0, "open", OPEN, None)], source="linkedin", campaign=None, owner=None),
    # archived at once as not ICP
    *journey("dev", [(0, "open", OPEN, None), (0.1, "archived", A, "not_icp")], source="linkedin"),
    # contacted, then silent for weeks
    *journey("eli", [(0, "open", OPEN, None), (6, "contacted", C, None)], owner="jonas"),
    # qualified, found without need later, passed unqualified on its way to nurture
    *journey(
        "fay",
        [
            (0, "open", OPEN, None),
            (2, "qualified", Q, None),
            (30, "unqualified", U, "no_need"),
            (30, "nurturing", N, "no_need"),
        ],
    ),
]


def test_leads_are_counted_by_their_current_status():
    report = funnel_report(ROWS, NOW)
    assert report.leads == 6
    assert report.by_status == {"converted": 1, "nurturing": 2, "open": 1, "archived": 1, "contacted": 1}


def test_conversion_rates_follow_each_lead_forward_in_time():
    report = funnel_report(ROWS, NOW)
    assert report.conversion["open->contacted"] == 0.5
    assert report.conversion["contacted->qualified"] == round(1 / 3, 4)
    assert report.conversion["open->qualified"] == round(2 / 6, 4)
    assert report.conversion["qualified->converted"] == 0.5
    assert report.conversion["open->converted"] == round(1 / 6, 4)


def test_a_conversion_rate_from_a_status_nobody_reached_is_none():
    assert conversion_rate([[]], BaseCategory.CONVERTED, BaseCategory.OPEN) is None


def test_median_time_to_first_contact_is_in_hours():
    assert funnel_report(ROWS, NOW).median_hours_to_first_contact == 6


def test_median_time_in_each_status_ignores_the_status_a_lead_is_still_in():
    report = funnel_report(ROWS, NOW)
    assert report.median_hours_in_status["contacted"] == 36  # ada 48h, ben 24h
    assert report.median_hours_in_status["qualified"] == 26  # ada 24h, fay 28h
    assert "converted" not in report.median_hours_in_status


def test_stale_and_unresponsive_leads_are_counted_from_their_last_change():
    report = funnel_report(ROWS, NOW)
    assert report.stale == 1  # cleo, open for 25 days
    assert report.unresponsive == 1  # eli, contacted 25 days ago


def test_each_disqualified_lead_counts_once_per_reason():
    assert funnel_report(ROWS, NOW).disqualification_reasons == {"no_budget": 1, "not_icp": 1, "no_need": 1}


def test_reports_split_by_source():
    reports = funnel_by(ROWS, GroupBy.SOURCE, NOW)
    assert sorted(reports) == ["hubspot", "linkedin"]
    assert reports["linkedin"].leads == 2
    assert reports["hubspot"].by_status["converted"] == 1


def test_leads_without_an_owner_are_grouped_under_none():
    reports = funnel_by(ROWS, GroupBy.OWNER, NOW)
    assert reports[NO_GROUP].leads == 1
    assert reports["jonas"].unresponsive == 1


def test_no_rows_give_an_empty_report():
    report = funnel_report([], NOW)
    assert report.leads == 0
    assert report.median_hours_to_first_contact is None
    assert all(rate is None for rate in report.conversion.values())
