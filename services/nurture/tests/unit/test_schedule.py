from __future__ import annotations

from datetime import timedelta

import pytest

from leadflow_nurture.domain.enrollment import TouchOutcome, with_consent
from leadflow_nurture.domain.schedule import due_times, next_touch, take_due_touch
from leadflow_shared.contracts.lead import ContactChannel

from .builders import MONDAY_MORNING, ana_on, budget_drip

DAY = timedelta(days=1)


def test_each_step_is_due_its_delay_after_the_previous_one() -> None:
    assert due_times(MONDAY_MORNING, budget_drip()) == (
        MONDAY_MORNING + 2 * DAY,
        MONDAY_MORNING + 16 * DAY,
        MONDAY_MORNING + 46 * DAY,
    )


def test_the_first_step_waits_its_delay_after_enrollment() -> None:
    pending = next_touch(ana_on(budget_drip()), budget_drip(), MONDAY_MORNING + DAY)

    assert pending is not None
    assert pending.step == 1
    assert pending.due_at == MONDAY_MORNING + 2 * DAY
    assert not pending.due


def test_nothing_is_taken_before_it_is_due() -> None:
    assert take_due_touch(ana_on(budget_drip()), budget_drip(), MONDAY_MORNING + DAY) is None


def test_a_due_step_is_recorded_as_sent() -> None:
    track = budget_drip()

    taken = take_due_touch(ana_on(track), track, MONDAY_MORNING + 2 * DAY)

    assert taken is not None
    enrollment, touch = taken
    assert touch.step == 1
    assert touch.outcome is TouchOutcome.SENT
    assert touch.content_ref == "drip/business-case"
    assert enrollment.touches == (touch,)


def test_a_late_touch_pushes_the_next_one_back() -> None:
    track = budget_drip()
    late = MONDAY_MORNING + 5 * DAY
    taken = take_due_touch(ana_on(track), track, late)
    assert taken is not None

    pending = next_touch(taken[0], track, late)

    assert pending is not None
    assert pending.due_at == late + 14 * DAY


def test_no_touch_follows_the_last_step() -> None:
    track = budget_drip()
    enrollment = ana_on(track)
    now = MONDAY_MORNING
    for _ in track.steps:
        now += 60 * DAY
        taken = take_due_touch(enrollment, track, now)
        assert taken is not None
        enrollment = taken[0]

    assert next_touch(enrollment, track, now + 365 * DAY) is None
    assert enrollment.touches_sent == 3


def test_a_touch_on_a_channel_the_lead_opted_out_of_is_skipped_and_recorded() -> None:
    track = budget_drip()
    opted_out = ana_on(track, opted_out=frozenset({ContactChannel.EMAIL}))

    taken = take_due_touch(opted_out, track, MONDAY_MORNING + 2 * DAY)

    assert taken is not None
    enrollment, touch = taken
    assert touch.outcome is TouchOutcome.SKIPPED_NO_CONSENT
    assert enrollment.touches_sent == 0
    assert len(enrollment.touches) == 1


def test_opting_back_in_lets_the_next_touch_be_sent() -> None:
    track = budget_drip()
    enrollment = with_consent(ana_on(track), ContactChannel.EMAIL, opted_in=False)
    assert next_touch(enrollment, track, MONDAY_MORNING).outcome is TouchOutcome.SKIPPED_NO_CONSENT  # type: ignore[union-attr]

    enrollment = with_consent(enrollment, ContactChannel.EMAIL, opted_in=True)

    pending = next_touch(enrollment, track, MONDAY_MORNING)
    assert pending is not None
    assert pending.will_send


def test_opting_out_of_phone_does_not_stop_emails() -> None:
    track = budget_drip()

    pending = next_touch(ana_on(track, frozenset({ContactChannel.PHONE})), track, MONDAY_MORNING)

    assert pending is not None
    assert pending.will_send


def test_an_enrollment_is_scheduled_only_against_its_own_track_version() -> None:
    enrollment = ana_on(budget_drip())

    with pytest.raises(ValueError, match="not 'budget-drip' v2"):
        next_touch(enrollment, budget_drip(version=2), MONDAY_MORNING)
