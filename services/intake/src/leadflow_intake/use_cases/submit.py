"""Accept a submission over HTTP: store it durably for processing through Kafka, answer at once."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from leadflow_intake.use_cases.quarantine import quarantine
from leadflow_shared.contracts.events import LeadSubmitted, RawLeadSubmitted
from leadflow_shared.contracts.lead import LeadSubmission
from leadflow_shared.outbox import EventTooLarge
from leadflow_shared.uow import UnitOfWorkFactory


async def accept_submission(uow: UnitOfWorkFactory, submission: LeadSubmission, correlation_id: str) -> UUID:
    """Write the submission to leads.submitted through the outbox; the id is the event's.

    Raises EventTooLarge when the event would exceed Kafka's message limit: the caller is told at once.
    """
    envelope = await uow.emit(LeadSubmitted(submission=submission), correlation_id=correlation_id)
    return envelope.id


async def accept_vendor_payload(
    uow: UnitOfWorkFactory, source: str, payload: dict[str, Any], received_id: UUID, correlation_id: str
) -> UUID | None:
    """Write a vendor's payload to leads.submitted through the outbox; one whose event would exceed Kafka's
    message limit is quarantined with that reason instead, and the rejection's id is answered."""
    try:
        await uow.emit(
            RawLeadSubmitted(source=source, payload=payload, received_id=received_id),
            correlation_id=correlation_id,
        )
    except EventTooLarge as exc:
        async with uow() as unit:
            return await quarantine(unit, source, str(exc), payload, causation=None)
    return None
