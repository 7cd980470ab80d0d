"""HTTP entrypoints of intake about a person: erasure requests and their progress."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError

from leadflow_intake.entrypoints import schemas
from leadflow_intake.use_cases.erasure import erasure_progress, request_erasure
from leadflow_shared.http import BEARER_ANSWERS, AdminAccess, answers
from leadflow_shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["people"], responses=answers(*BEARER_ANSWERS))


@router.post("/erasure-requests", status_code=status.HTTP_202_ACCEPTED, responses=answers(404, 422))
async def create_erasure_request(
    body: schemas.ErasureRequestIn, request: Request, _: AdminAccess
) -> schemas.ErasureAccepted:
    """Erase a person (GDPR art. 17): intake's part at once, the other services' through the event."""
    if (body.email is None) == (body.lead_id is None):
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "give exactly one of email and lead_id", "type": "value_error"}]
        )
    async with runtime_of(request).uow() as uow:
        requested = await request_erasure(
            uow, email=body.email, lead_id=body.lead_id, correlation_id=request.state.correlation_id
        )
    if requested is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {body.lead_id}")
    return schemas.ErasureAccepted(request_id=requested.request_id, repeated=requested.repeated)


@router.get("/erasure-requests/{request_id}", responses=answers(404, 422))
async def get_erasure_request(request_id: UUID, request: Request, _: AdminAccess) -> schemas.ErasureStatus:
    """An erasure request with each service's completion (pending, or done and when)."""
    async with runtime_of(request).uow() as uow:
        progress = await erasure_progress(uow, request_id)
    if progress is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no erasure request {request_id}")
    return schemas.ErasureStatus(
        request_id=progress.request_id,
        status="done" if progress.done else "pending",
        origin=progress.origin,
        requested_at=progress.requested_at,
        leads=progress.leads,
        services=[
            schemas.ServiceErasure(
                service=s.service, status="pending" if s.done_at is None else "done", done_at=s.done_at
            )
            for s in progress.services
        ],
    )
