"""What follows a failed send: bounded retries with a doubling delay, or a failure kept with its reason."""

from __future__ import annotations

from datetime import timedelta

from leadflow_nurture.domain.delivery import (
    FailureKind,
    GiveUp,
    Retry,
    RetryPolicy,
    SendFailure,
    after_failure,
)

POLICY = RetryPolicy(max_attempts=4, first_delay=timedelta(minutes=1), max_delay=timedelta(minutes=5))
GREYLISTED = SendFailure(FailureKind.TRANSIENT, "SMTPRecipientsRefused: 451 4.7.1 greylisted, try later")


def test_a_transient_failure_is_tried_again_later_each_time_twice_as_late_up_to_the_ceiling() -> None:
    waits = [after_failure(GREYLISTED, attempts, POLICY) for attempts in range(3)]

    assert waits == [
        Retry(after=timedelta(minutes=1), reason=GREYLISTED.reason, counted=True),
        Retry(after=timedelta(minutes=2), reason=GREYLISTED.reason, counted=True),
        Retry(after=timedelta(minutes=4), reason=GREYLISTED.reason, counted=True),
    ]
    assert RetryPolicy(max_attempts=10, max_delay=timedelta(minutes=5)).delay(9) == timedelta(minutes=5)


def test_a_touch_out_of_attempts_fails_for_good_naming_the_last_error() -> None:
    fate = after_failure(GREYLISTED, 3, POLICY)

    assert fate == GiveUp(FailureKind.TRANSIENT, f"gave up after 4 attempts: {GREYLISTED.reason}")


def test_an_unreachable_server_puts_the_touch_off_without_spending_an_attempt() -> None:
    down = SendFailure(FailureKind.UNAVAILABLE, "SMTPConnectError: connection refused")

    assert after_failure(down, 3, POLICY) == Retry(
        after=timedelta(minutes=1), reason=down.reason, counted=False
    )


def test_a_refused_or_unsendable_email_fails_at_once_and_only_a_bounce_marks_the_address() -> None:
    refused = SendFailure(FailureKind.REFUSED, "SMTPDataError: 554 5.7.1 message content rejected")
    unsendable = SendFailure(FailureKind.UNSENDABLE, "not an email address: 'ana@@transportes-lusos'")
    bounce = SendFailure(FailureKind.UNDELIVERABLE, "SMTPRecipientsRefused: 550 5.1.1 no such user")

    assert after_failure(refused, 0, POLICY) == GiveUp(FailureKind.REFUSED, refused.reason)
    assert after_failure(unsendable, 0, POLICY) == GiveUp(FailureKind.UNSENDABLE, unsendable.reason)
    assert after_failure(bounce, 0, POLICY) == GiveUp(
        FailureKind.UNDELIVERABLE, bounce.reason, undeliverable=True
    )


def test_a_huge_attempt_limit_never_overflows_the_delay() -> None:
    patient = RetryPolicy(max_attempts=100, first_delay=timedelta(minutes=1), max_delay=timedelta(days=1))

    assert patient.delay(99) == timedelta(days=1)
