from datetime import UTC, datetime, timedelta

import pytest

from leadflow_qualification.domain.staleness import (
    DEFAULT_STALENESS_LIMITS,
    CategoryLimit,
    Freshness,
    StalenessLimits,
    assess_staleness,
)
from leadflow_qualification.domain.statuses import BaseCategory

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def verdict(category, hours_in_status, hours_since_progress=None):
    progress = None if hours_since_progress is None else NOW - timedelta(hours=hours_since_progress)
    return assess_staleness(
        category, NOW - timedelta(hours=hours_in_status), progress, DEFAULT_STALENESS_LIMITS, NOW
    )


def test_a_lead_opened_this_morning_is_fresh():
    assert verdict(BaseCategory.OPEN, 3).freshness is Freshness.FRESH


def test_an_open_lead_nobody_called_for_two_days_is_stale_but_never_unresponsive():
    assert verdict(BaseCategory.OPEN, 48).freshness is Freshness.STALE
    assert verdict(BaseCategory.OPEN, 24 * 60).freshness is Freshness.STALE


def test_a_contacted_lead_silent_for_three_weeks_is_disqualified_as_unresponsive():
    result = verdict(BaseCategory.CONTACTED, 21 * 24)
    assert result.freshness is Freshness.DISQUALIFY_UNRESPONSIVE
    assert result.limit_hours == 336


def test_recent_progress_resets_the_clock():
    assert verdict(BaseCategory.CONTACTED, 21 * 24, hours_since_progress=5).freshness is Freshness.FRESH


def test_nurturing_and_terminal_leads_never_go_stale():
    assert verdict(BaseCategory.NURTURING, 24 * 365).freshness is Freshness.FRESH
    assert verdict(BaseCategory.CONVERTED, 24 * 365).freshness is Freshness.FRESH


def test_an_unresponsive_limit_not_beyond_the_stale_limit_is_refused():
    with pytest.raises(ValueError, match="must exceed"):
        CategoryLimit(stale_after_hours=72, unresponsive_after_hours=48)


def test_a_limit_for_archived_leads_is_refused():
    with pytest.raises(ValueError, match="archived"):
        StalenessLimits(limits={BaseCategory.ARCHIVED: CategoryLimit(stale_after_hours=1)})
