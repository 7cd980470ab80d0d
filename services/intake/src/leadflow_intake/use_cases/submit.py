"""Accept a submission over HTTP: store it durably for processing through Kafka, answer at once."""

from __future__ import annotations

from uuid import UUID

from leadflow_shared.contracts.events import LeadSubmitted
from leadflow_shared.contracts.lead import LeadSubmission
from leadflow_shared.uow import UnitOfWorkFactory


async def accept_submission(uow: UnitOfWorkFactory, submission: LeadSubmission, correlation_id: str) -> UUID:
    """Write the submission to leads.submitted through the outbox; the id is the event's."""
    envelope = await uow.emit(LeadSubmitted(submission=submission), correlation_id=correlation_id)
    return envelope.id
