"""What becomes of a touch whose email was not sent: tried again later, or failed for good with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class FailureKind(StrEnum):
    """Why an email was not sent, as far as the next attempt is concerned."""

    # The server could not be reached, or the session broke before this message: not the message's fault.
    UNAVAILABLE = "unavailable"
    # This attempt failed (a 4xx answer, a timeout, a dropped connection): another may succeed.
    TRANSIENT = "transient"
    # The server refused the message for good (a 5xx answer to the sender or the content).
    REFUSED = "refused"
    # The server refused the recipient for good (a 5xx answer to RCPT): the address bounces.
    UNDELIVERABLE = "undeliverable"
    # The email cannot be made or carried as it is: no address, a broken template, no SMTPUTF8.
    UNSENDABLE = "unsendable"


@dataclass(frozen=True)
class SendFailure:
    """One email not sent: the kind of failure and what the server or the renderer said."""

    kind: FailureKind
    reason: str


class TurnMissed(Exception):
    """The round's lease on a touch ran out before its email's turn: it is sent by a later round."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how late a transient failure is tried again: the delay doubles up to a ceiling."""

    max_attempts: int = 5
    first_delay: timedelta = timedelta(seconds=60)
    max_delay: timedelta = timedelta(hours=1)

    def delay(self, attempt: int) -> timedelta:
        """The wait after the attempt-th failed attempt (1-based)."""
        # The exponent is capped so that a high attempt limit cannot overflow timedelta.
        later: timedelta = self.first_delay * 2 ** min(max(attempt - 1, 0), 30)
        return min(later, self.max_delay)


@dataclass(frozen=True)
class Retry:
    """Send the touch again after a while; counted is whether this attempt counts towards the limit."""

    after: timedelta
    reason: str
    counted: bool


@dataclass(frozen=True)
class GiveUp:
    """The touch failed for good; undeliverable marks its address so nothing more is sent to it."""

    kind: FailureKind
    reason: str
    undeliverable: bool = False


def after_failure(failure: SendFailure, attempts: int, policy: RetryPolicy) -> Retry | GiveUp:
    """What follows a failed send of a touch already attempted `attempts` times before."""
    if failure.kind is FailureKind.UNAVAILABLE:
        return Retry(after=policy.first_delay, reason=failure.reason, counted=False)
    if failure.kind is FailureKind.TRANSIENT:
        attempt = attempts + 1
        if attempt >= policy.max_attempts:
            return GiveUp(failure.kind, f"gave up after {attempt} attempts: {failure.reason}")
        return Retry(after=policy.delay(attempt), reason=failure.reason, counted=True)
    return GiveUp(failure.kind, failure.reason, undeliverable=failure.kind is FailureKind.UNDELIVERABLE)
