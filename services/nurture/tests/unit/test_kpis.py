from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from leadflow_nurture.domain.engagement import check_exhaustion, record_engagement
from leadflow_nurture.domain.enrollment import Enrollment, start_enrollment, unsubscribe
from leadflow_nurture.domain.kpis import TrackKpis, track_kpis
from leadflow_nurture.domain.schedule import take_due_touch
from leadflow_shared.contracts.lead import ActivityType, ContactChannel, TriggerKind

from .builders import ANA_ID, MONDAY_MORNING, budget_drip

DAY = timedelta(days=1)
TRACK = budget_drip()


def enrolled(number: int, opted_out: frozenset[ContactChannel] = frozenset()) -> Enrollment:
    return start_enrollment(UUID(int=number), ANA_ID, TRACK, MONDAY_MORNING, opted_out)


def sent_all(enrollment: Enrollment) -> Enrollment:
    now = MONDAY_MORNING
    for _ in TRACK.steps:
        now += 60 * DAY
        taken = take_due_touch(enrollment, TRACK, now)
        assert taken is not None
        enrollment = taken[0]
    return enrollment


def test_kpis_count_each_way_an_enrollment_can_end() -> None:
    quiet = sent_all(enrolled(1))
    archived = check_exhaustion(quiet, TRACK, MONDAY_MORNING + 400 * DAY)
    assert archived is not None
    requalified, _ = record_engagement(
        enrolled(2), TRACK, ActivityType.TRIGGER, MONDAY_MORNING + DAY, TriggerKind.FUNDING_ROUND
    )
    clicked, _ = record_engagement(enrolled(3), TRACK, ActivityType.EMAIL_CLICKED, MONDAY_MORNING + DAY)
    opted_out = sent_all(enrolled(4, frozenset({ContactChannel.EMAIL})))
    left = unsubscribe(enrolled(5), MONDAY_MORNING + DAY)

    [kpis] = track_kpis([archived[0], requalified, clicked, opted_out, left]).values()

    assert kpis == TrackKpis(
        track="budget-drip",
        enrolled=5,
        active=2,
        touches_sent=3,
        touches_skipped=3,
        engaged=2,
        requalified=1,
        exhausted=1,
        archived=1,
        unsubscribed=1,
    )
    assert kpis.engagement_rate == pytest.approx(0.4)
    assert kpis.requalified_rate == pytest.approx(0.2)
    assert kpis.exhausted_rate == pytest.approx(0.2)


def test_rates_are_unknown_for_a_track_nobody_entered() -> None:
    empty = TrackKpis(track="win-back")

    assert empty.engagement_rate is None
    assert empty.requalified_rate is None


def test_kpis_of_one_track_add_up_and_refuse_another_track() -> None:
    monday = TrackKpis(track="newsletter", enrolled=40, engaged=10, touches_sent=120)
    tuesday = TrackKpis(track="newsletter", enrolled=60, engaged=15, touches_sent=60)

    week = monday + tuesday

    assert (week.enrolled, week.engaged, week.touches_sent) == (100, 25, 180)
    assert week.engagement_rate == pytest.approx(0.25)
    with pytest.raises(ValueError, match="cannot add"):
        _ = monday + TrackKpis(track="webinar")


def test_kpis_are_kept_per_track() -> None:
    other = start_enrollment(UUID(int=9), ANA_ID, budget_drip(name="newsletter"), MONDAY_MORNING)

    kpis = track_kpis([enrolled(1), enrolled(2), other])

    assert {name: k.enrolled for name, k in kpis.items()} == {"budget-drip": 2, "newsletter": 1}
