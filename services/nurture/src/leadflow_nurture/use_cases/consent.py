"""Recording consent: the one path every opt-in and opt-out takes, whatever its source.

An email opt-out ends the active enrollment as unsubscribed (its due touches are cancelled, so the next
scheduler round sends nothing), puts the address on the suppression list, and like every change is told to
the other services as nurture.consent_recorded. Each call runs inside the caller's unit of work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadflow_nurture.adapters import consent, leads, suppressions
from leadflow_nurture.domain.consent import ONE_CLICK, OPTED_OUT, ConsentChange, one_click_proof
from leadflow_nurture.domain.enrollment import EnrollmentStatus
from leadflow_nurture.domain.unsubscribe import Claim, token_hash
from leadflow_nurture.use_cases import lifecycle
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import NurtureConsentRecorded
from leadflow_shared.contracts.lead import ContactChannel
from leadflow_shared.uow import UnitOfWork


async def record(
    uow: UnitOfWork, change: ConsentChange, causation: Envelope | None = None, *, lift: bool = False
) -> None:
    """Keep the change as the lead's consent on its channel and act on it; with lift, an email opt-in also
    takes the address off the suppression list where an opt-out had put it (never where a bounce had)."""
    await consent.keep(uow.conn, change)
    if change.stops_email:
        await lifecycle.end_active(
            uow.conn, change.lead_id, EnrollmentStatus.UNSUBSCRIBED, f"opted out of email: {change.reason}"
        )
    if change.channel is ContactChannel.EMAIL:
        email = await leads.email_of(uow.conn, change.lead_id)
        if email and change.stops_email:
            await suppressions.suppress(uow.conn, [(email, OPTED_OUT, change.source)])
        elif email and lift:
            await suppressions.lift(uow.conn, email, OPTED_OUT)
    await uow.outbox.emit(
        NurtureConsentRecorded(
            lead_id=change.lead_id,
            channel=change.channel,
            opted_in=change.opted_in,
            source=change.source,
            reason=change.reason,
            recorded_at=change.at,
        ),
        causation=causation,
    )


async def unsubscribe(uow: UnitOfWork, claim: Claim, token: str, at: datetime) -> dict[str, Any]:
    """Opt the link's lead out of the link's channel, with the token's hash as proof; the consent in force.

    A link posted again, or a lead already opted out, changes nothing: the opt-out in force is kept.
    """
    existing = await consent.current(uow.conn, claim.lead_id, claim.channel)
    if existing is not None and existing["opted_in"] is False:
        return existing
    change = ConsentChange(
        lead_id=claim.lead_id,
        channel=claim.channel,
        opted_in=False,
        source=ONE_CLICK,
        reason=ONE_CLICK,
        at=at,
        proof=one_click_proof(token_hash(token), at),
    )
    await record(uow, change)
    recorded = await consent.current(uow.conn, claim.lead_id, claim.channel)
    assert recorded is not None
    return recorded
