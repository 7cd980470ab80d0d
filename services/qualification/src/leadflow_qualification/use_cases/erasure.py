"""Erasure in the qualification schema: profiles, status history reasons, decisions and the outbox."""

from __future__ import annotations

from leadflow_qualification.adapters.erasure import erase_schema
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import PersonErasureRequested, QualificationPersonErased
from leadflow_shared.erasure import honour
from leadflow_shared.uow import UnitOfWork


async def person_erasure_requested(
    uow: UnitOfWork, data: PersonErasureRequested, causation: Envelope
) -> None:
    """intake asked every service to erase a person: erase qualification's part and confirm."""
    await honour(uow, data, causation, QualificationPersonErased, erase_schema)
