from __future__ import annotations

from datetime import datetime, timedelta

from leadflow_nurture.domain.engagement import check_exhaustion, record_engagement
from leadflow_nurture.domain.enrollment import Enrollment, EnrollmentStatus, convert, unsubscribe
from leadflow_nurture.domain.schedule import take_due_touch
from leadflow_nurture.domain.tracks import Track
from leadflow_shared.contracts.events import ExhaustedNext
from leadflow_shared.contracts.lead import ActivityType, TriggerKind

from .builders import MONDAY_MORNING, ana_on, budget_drip

DAY = timedelta(days=1)


def all_steps_sent(track: Track) -> tuple[Enrollment, datetime]:
    enrollment, now = ana_on(track), MONDAY_MORNING
    for _ in track.steps:
        now += 60 * DAY
        taken = take_due_touch(enrollment, track, now)
        assert taken is not None
        enrollment = taken[0]
    return enrollment, now


def test_engagement_below_the_threshold_only_adds_points() -> None:
    track = budget_drip()
    opened_at = MONDAY_MORNING + 3 * DAY

    enrollment, request = record_engagement(ana_on(track), track, ActivityType.EMAIL_CLICKED, opened_at)

    assert request is None
    assert enrollment.engagement_points == 3
    assert enrollment.last_engaged_at == opened_at
    assert enrollment.is_active


def test_reaching_the_threshold_ends_the_enrollment_with_a_requalification_request() -> None:
    track = budget_drip()
    enrollment = ana_on(track)
    for activity in (ActivityType.EMAIL_CLICKED, ActivityType.PRICING_PAGE_VISITED):
        enrollment, request = record_engagement(enrollment, track, activity, MONDAY_MORNING + 4 * DAY)
        assert request is None

    enrollment, request = record_engagement(
        enrollment, track, ActivityType.WEBINAR_ATTENDED, MONDAY_MORNING + 9 * DAY
    )

    assert request is not None
    assert request.reason == "engagement threshold reached: 18 of 15 points (last: webinar_attended)"
    assert request.trigger is None
    assert enrollment.status is EnrollmentStatus.REQUALIFIED
    assert enrollment.ended_at == MONDAY_MORNING + 9 * DAY


def test_a_trigger_event_requalifies_at_once_and_names_the_trigger() -> None:
    track = budget_drip()

    enrollment, request = record_engagement(
        ana_on(track), track, ActivityType.TRIGGER, MONDAY_MORNING + DAY, trigger=TriggerKind.BUDGET_APPROVED
    )

    assert request is not None
    assert request.trigger is TriggerKind.BUDGET_APPROVED
    assert request.reason == "trigger event: budget_approved"
    assert enrollment.status is EnrollmentStatus.REQUALIFIED


def test_a_trigger_the_track_does_not_listen_to_earns_no_requalification() -> None:
    track = budget_drip(exit={"requalify_triggers": ["funding_round"], "engagement_threshold": 15})

    enrollment, request = record_engagement(
        ana_on(track), track, ActivityType.TRIGGER, MONDAY_MORNING + DAY, trigger=TriggerKind.NEW_ROLE
    )

    assert request is None
    assert enrollment.is_active


def test_engagement_after_the_enrollment_ended_changes_nothing() -> None:
    track = budget_drip()
    ended = unsubscribe(ana_on(track), MONDAY_MORNING + DAY)

    enrollment, request = record_engagement(
        ended, track, ActivityType.DEMO_REQUESTED, MONDAY_MORNING + 2 * DAY
    )

    assert request is None
    assert enrollment == ended


def test_unsubscribing_and_converting_end_an_active_enrollment() -> None:
    track = budget_drip()

    assert unsubscribe(ana_on(track), MONDAY_MORNING).status is EnrollmentStatus.UNSUBSCRIBED
    assert convert(ana_on(track), MONDAY_MORNING).status is EnrollmentStatus.CONVERTED


def test_a_track_is_not_exhausted_while_steps_remain() -> None:
    track = budget_drip()

    assert check_exhaustion(ana_on(track), track, MONDAY_MORNING + 400 * DAY) is None


def test_the_last_step_is_followed_by_a_grace_period() -> None:
    track = budget_drip()
    enrollment, last_touch = all_steps_sent(track)

    assert check_exhaustion(enrollment, track, last_touch + 13 * DAY) is None
    assert check_exhaustion(enrollment, track, last_touch + 14 * DAY) is not None


def test_a_quiet_grace_period_archives_the_lead_by_default() -> None:
    track = budget_drip()
    enrollment, last_touch = all_steps_sent(track)

    exhausted = check_exhaustion(enrollment, track, last_touch + 15 * DAY)

    assert exhausted is not None
    ended, outcome = exhausted
    assert outcome.next is ExhaustedNext.ARCHIVE
    assert outcome.next_track is None
    assert ended.status is EnrollmentStatus.EXHAUSTED
    assert ended.exhausted_next is ExhaustedNext.ARCHIVE


def test_an_exhausted_track_can_move_the_lead_to_the_next_track() -> None:
    track = budget_drip(on_exhaustion={"action": "move", "move_to": "newsletter"})
    enrollment, last_touch = all_steps_sent(track)

    exhausted = check_exhaustion(enrollment, track, last_touch + 15 * DAY)

    assert exhausted is not None
    assert exhausted[1].next is ExhaustedNext.MOVE
    assert exhausted[1].next_track == "newsletter"
    assert exhausted[0].end_reason == "exhausted: moved to newsletter"


def test_engagement_during_the_grace_period_restarts_it() -> None:
    track = budget_drip()
    enrollment, last_touch = all_steps_sent(track)
    enrollment, _ = record_engagement(enrollment, track, ActivityType.EMAIL_OPENED, last_touch + 10 * DAY)

    assert check_exhaustion(enrollment, track, last_touch + 20 * DAY) is None
    assert check_exhaustion(enrollment, track, last_touch + 24 * DAY) is not None
