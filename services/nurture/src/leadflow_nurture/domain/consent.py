"""Consent as nurture keeps it: one fact per lead and channel, with its source, time and proof."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from leadflow_shared.contracts.events import LeadConsentChanged
from leadflow_shared.contracts.lead import ContactChannel

ONE_CLICK = "one-click unsubscribe"
"""The source of an opt-out made through an email's List-Unsubscribe link."""
INTAKE = "intake"
"""The source of a consent change intake turned from a form or a vendor signal (lead.consent_changed)."""

OPTED_OUT = "opted out"
"""Why an address is on the suppression list after its owner opted out of email."""
BOUNCED = "bounced"
"""Why an address is on the suppression list after a permanent SMTP failure."""


@dataclass(frozen=True)
class ConsentChange:
    """A lead opts in or out of one channel: who says so, why, and what proves it."""

    lead_id: UUID
    channel: ContactChannel
    opted_in: bool
    source: str
    reason: str
    at: datetime
    proof: str | None = None

    @property
    def stops_email(self) -> bool:
        """Whether this change means no more email to the lead."""
        return self.channel is ContactChannel.EMAIL and not self.opted_in


def one_click_proof(token_sha256: str, at: datetime) -> str:
    """The proof kept for a one-click unsubscribe: which signed link was posted, and when."""
    return f"RFC 8058 one-click POST of the signed link with token sha256 {token_sha256} at {at.isoformat()}"


def from_intake(event: LeadConsentChanged, at: datetime) -> ConsentChange:
    """The change intake reports from a form or a vendor signal, as nurture records it."""
    return ConsentChange(event.lead_id, event.channel, event.opted_in, INTAKE, event.reason, at)
