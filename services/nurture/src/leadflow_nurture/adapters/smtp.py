"""Channel adapter: every step channel (newsletter subscription, webinar invitation, drip) is an email."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from leadflow_nurture.settings import NurtureSettings


class MailSender(Protocol):
    """Sends a batch of emails; answers one error (or None) per message, in order."""

    async def send(self, messages: Sequence[EmailMessage]) -> list[Exception | None]:
        """Send each message; read the messages only to send them (they may be rendered when first read)."""
        ...


class SmtpSender:
    """Real SMTP through aiosmtplib: one connection per batch."""

    def __init__(self, settings: NurtureSettings) -> None:
        self.settings = settings

    async def send(self, messages: Sequence[EmailMessage]) -> list[Exception | None]:
        """Send each message over one SMTP session; a failed connection fails the whole batch."""
        if not messages:
            return []
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            use_tls=s.smtp_use_tls,
            start_tls=s.smtp_start_tls,
            timeout=s.smtp_timeout_s,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as error:
            return [error] * len(messages)
        results: list[Exception | None] = []
        try:
            for message in messages:
                try:
                    await client.send_message(message)
                    results.append(None)
                except aiosmtplib.SMTPServerDisconnected as error:
                    results.extend([error] * (len(messages) - len(results)))
                    break
                except (aiosmtplib.SMTPException, OSError) as error:
                    results.append(error)
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
        return results
