"""Channel adapter: every step channel (newsletter subscription, webinar invitation, drip) is an email."""

from __future__ import annotations

from collections.abc import Sequence
from email.errors import MessageError
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import structlog

from leadflow_nurture.domain.delivery import FailureKind, SendFailure, TurnMissed
from leadflow_nurture.domain.email import Unrenderable
from leadflow_nurture.settings import NurtureSettings

log = structlog.get_logger(__name__)

# Messages in a row that fail by timeout or a dropped connection before the server counts as unavailable:
# a hanging server costs a round at most this many timeouts, not one per message of the batch.
MAX_BROKEN_SESSIONS = 3
NO_SMTPUTF8 = "the address is not ASCII and the SMTP server does not offer SMTPUTF8"


class MailSender(Protocol):
    """Sends a batch of emails; answers one failure (or None when sent) per message, in order."""

    async def send(self, messages: Sequence[EmailMessage]) -> list[SendFailure | None]:
        """Send each message; read the messages only to send them (reading one may raise Unrenderable)."""
        ...


def classify(error: Exception) -> SendFailure:
    """The failure an exception of rendering or of the SMTP conversation stands for."""
    reason = f"{type(error).__name__}: {error}"[:500]
    if isinstance(error, TurnMissed):
        return SendFailure(FailureKind.UNAVAILABLE, str(error)[:500])
    if isinstance(error, Unrenderable):
        return SendFailure(FailureKind.UNSENDABLE, str(error)[:500])
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        return SendFailure(FailureKind.UNSENDABLE, f"{NO_SMTPUTF8} ({error})"[:500])
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        kind = (
            FailureKind.UNDELIVERABLE
            if codes and all(code >= 500 for code in codes)
            else FailureKind.TRANSIENT
        )
        return SendFailure(kind, reason)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused):
        return SendFailure(FailureKind.UNDELIVERABLE if error.code >= 500 else FailureKind.TRANSIENT, reason)
    if isinstance(error, aiosmtplib.SMTPResponseException) and not isinstance(
        error, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPTimeoutError
    ):
        return SendFailure(FailureKind.REFUSED if error.code >= 500 else FailureKind.TRANSIENT, reason)
    if isinstance(error, ValueError | UnicodeError | MessageError):
        # aiosmtplib refuses an address it cannot put in the envelope, the generator a header it cannot write.
        return SendFailure(FailureKind.UNSENDABLE, reason)
    return SendFailure(FailureKind.TRANSIENT, reason)


def _answered(error: Exception) -> bool:
    """Whether the server answered (the session goes on), rather than the line failing."""
    return isinstance(error, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused)


class SmtpSender:
    """Real SMTP through aiosmtplib: one session per batch, opened again when one message breaks it."""

    def __init__(self, settings: NurtureSettings) -> None:
        self.settings = settings

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        # The timeout bounds the connection and every command, so a hanging server cannot hold a round.
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            use_tls=s.smtp_use_tls,
            start_tls=s.smtp_start_tls,
            timeout=s.smtp_timeout_s,
        )

    async def send(self, messages: Sequence[EmailMessage]) -> list[SendFailure | None]:
        """Send each message; one that fails is answered with its failure and the next is tried."""
        results: list[SendFailure | None] = []
        client = self._client()
        broken = 0
        try:
            for index in range(len(messages)):
                if not client.is_connected:
                    try:
                        await client.connect()
                    except (aiosmtplib.SMTPException, OSError) as error:
                        unavailable = SendFailure(FailureKind.UNAVAILABLE, classify(error).reason)
                        results.extend([unavailable] * (len(messages) - index))
                        break
                try:
                    await client.send_message(messages[index])
                except Exception as error:
                    # One message's failure, whatever it is, is that message's alone.
                    failure = classify(error)
                    results.append(failure)
                    if failure.kind is FailureKind.TRANSIENT and not _answered(error):
                        # After a timeout or a dropped line the session's state is unknown: start afresh.
                        client.close()
                        broken += 1
                        if broken >= MAX_BROKEN_SESSIONS:
                            reason = f"{broken} sessions broke in a row: {failure.reason}"
                            rest = SendFailure(FailureKind.UNAVAILABLE, reason)
                            results.extend([rest] * (len(messages) - index - 1))
                            break
                    continue
                results.append(None)
                broken = 0
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
        return results
