"""HTTP entrypoints of intake."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, status

from leadflow_intake.adapters import repository as repo
from leadflow_intake.use_cases.submit import accept_submission
from leadflow_shared.contracts.lead import LeadSubmission
from leadflow_shared.http import ReadAccess, WriteAccess
from leadflow_shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["leads"])


@router.post("/leads", status_code=status.HTTP_202_ACCEPTED)
async def submit_lead(submission: LeadSubmission, request: Request, _: WriteAccess) -> dict[str, Any]:
    """Accept a canonical lead submission; it is processed through leads.submitted."""
    runtime = runtime_of(request)
    async with runtime.uow() as uow:
        submission_id = await accept_submission(uow, submission, request.state.correlation_id)
    return {"submission_id": submission_id, "status": "accepted"}


@router.get("/leads/{lead_id}")
async def get_lead(lead_id: UUID, request: Request, _: ReadAccess) -> dict[str, Any]:
    """A lead's profile and every touch."""
    async with runtime_of(request).pool.acquire() as conn:
        lead = await repo.lead_with_touches(conn, lead_id)
    if lead is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id}")
    return lead


@router.get("/leads")
async def find_leads(request: Request, _: ReadAccess, email: str | None = None) -> dict[str, Any]:
    """Leads by email."""
    async with runtime_of(request).pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, profile, created_at FROM leads WHERE email = lower($1) AND merged_into IS NULL",
            email,
        )
    return {"items": [dict(r) for r in rows]}
