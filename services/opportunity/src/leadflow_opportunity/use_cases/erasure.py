"""Erasure in the opportunity schema: the lead read model, contacts, opportunity names and the outbox."""

from __future__ import annotations

from leadflow_opportunity.adapters.erasure import erase_schema
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import OpportunityPersonErased, PersonErasureRequested
from leadflow_shared.erasure import honour
from leadflow_shared.uow import UnitOfWork


async def person_erasure_requested(
    uow: UnitOfWork, data: PersonErasureRequested, causation: Envelope
) -> None:
    """intake asked every service to erase a person: erase opportunity's part and confirm."""
    await honour(uow, data, causation, OpportunityPersonErased, erase_schema)
