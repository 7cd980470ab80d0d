"""What each answer of an SMTP server, or each error on the way, means for the touch it was about."""

from __future__ import annotations

import aiosmtplib
import pytest

from leadflow_nurture.adapters.smtp import NO_SMTPUTF8, classify
from leadflow_nurture.domain.delivery import FailureKind, TurnMissed
from leadflow_nurture.domain.email import Unrenderable

NO_SUCH_USER = aiosmtplib.SMTPRecipientRefused(550, "5.1.1 no such user", "rui@transportes-lusos.example")
MAILBOX_BUSY = aiosmtplib.SMTPRecipientRefused(450, "4.2.1 mailbox busy", "rui@transportes-lusos.example")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (aiosmtplib.SMTPRecipientsRefused([NO_SUCH_USER]), FailureKind.UNDELIVERABLE),
        (aiosmtplib.SMTPRecipientsRefused([MAILBOX_BUSY]), FailureKind.TRANSIENT),
        (aiosmtplib.SMTPDataError(554, "5.7.1 content rejected"), FailureKind.REFUSED),
        (
            aiosmtplib.SMTPSenderRefused(451, "4.3.0 try again", "hello@acme-freight.example"),
            FailureKind.TRANSIENT,
        ),
        (aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response"), FailureKind.TRANSIENT),
        (aiosmtplib.SMTPServerDisconnected("Connection lost"), FailureKind.TRANSIENT),
        (ConnectionResetError("reset by peer"), FailureKind.TRANSIENT),
        (aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server"), FailureKind.UNSENDABLE),
        (Unrenderable("not an email address: 'ana@'"), FailureKind.UNSENDABLE),
        (ValueError("Invalid address"), FailureKind.UNSENDABLE),
        (TurnMissed("the round's lease ran out before this email's turn"), FailureKind.UNAVAILABLE),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_each_error_counts_as_the_kind_of_failure_it_stands_for(error: Exception, kind: FailureKind) -> None:
    assert classify(error).kind is kind


def test_a_server_without_smtputf8_is_named_as_the_reason() -> None:
    failure = classify(aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server"))

    assert failure.reason.startswith(NO_SMTPUTF8)


def test_a_bounce_keeps_the_servers_own_words() -> None:
    failure = classify(aiosmtplib.SMTPRecipientsRefused([NO_SUCH_USER]))

    assert "5.1.1 no such user" in failure.reason
