"""Erasure in the nurture schema: the lead read model, email logs and notes; the suppression list stays."""

from __future__ import annotations

from leadflow_nurture.adapters.erasure import erase_schema
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import NurturePersonErased, PersonErasureRequested
from leadflow_shared.erasure import honour
from leadflow_shared.uow import UnitOfWork


async def person_erasure_requested(
    uow: UnitOfWork, data: PersonErasureRequested, causation: Envelope
) -> None:
    """intake asked every service to erase a person: erase nurture's part and confirm."""
    await honour(uow, data, causation, NurturePersonErased, erase_schema)
