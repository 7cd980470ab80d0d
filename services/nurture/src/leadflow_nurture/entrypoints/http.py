"""HTTP entrypoints of nurture."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, status

from leadflow_nurture.adapters import leads
from leadflow_shared.http import ReadAccess
from leadflow_shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["leads"])


@router.get("/leads/{lead_id}")
async def get_lead(lead_id: UUID, request: Request, _: ReadAccess) -> dict[str, Any]:
    """What nurture knows of a lead."""
    async with runtime_of(request).pool.acquire() as conn:
        lead = await leads.lead_view(conn, lead_id)
    if lead is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id}")
    return lead
