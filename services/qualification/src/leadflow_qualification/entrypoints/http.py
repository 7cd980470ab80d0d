"""HTTP entrypoints of qualification."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.domain.criteria import Criteria
from leadflow_qualification.domain.funnel import GroupBy
from leadflow_qualification.domain.simulation import SimulationScope
from leadflow_qualification.domain.statuses import TransitionNotAllowed, UnknownStatus
from leadflow_qualification.entrypoints import schemas
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases import reports, sales
from leadflow_qualification.use_cases.judging import LeadNotFound, now_utc
from leadflow_qualification.use_cases.staleness import sweep
from leadflow_shared import browsing
from leadflow_shared.bounds import Name, Text
from leadflow_shared.http import (
    BEARER_ANSWERS,
    AdminAccess,
    MomentFilter,
    ReadAccess,
    TextFilter,
    WriteAccess,
    answers,
)
from leadflow_shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["qualification"], responses=answers(*BEARER_ANSWERS))
CHANGE_ANSWERS = answers(404, 409, 422)


@contextmanager
def answering_4xx() -> Iterator[None]:
    """Turn refusals into 4xx answers that name the problem."""
    try:
        yield
    except LeadNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except TransitionNotAllowed as error:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            {
                "message": str(error),
                "current": error.current,
                "target": error.target,
                "allowed": list(error.allowed),
            },
        ) from None
    except sales.NotAWorkingStatus as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except UnknownStatus as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    except cfg.InvalidConfig as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, {"message": str(error), "problems": list(error.problems)}
        ) from None


def store_of(request: Request) -> cfg.ConfigStore:
    """The service's configuration store."""
    store: cfg.ConfigStore = runtime_of(request).definition.state["config"]
    return store


async def _view(request: Request, lead_id: UUID) -> schemas.LeadView:
    async with runtime_of(request).pool.acquire() as conn:
        lead = await repo.lead_view(conn, lead_id)
    if lead is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id}")
    return schemas.LeadView.model_validate(lead)


# leads


@router.get("/leads/{lead_id}", responses=answers(404, 422))
async def get_lead(lead_id: UUID, request: Request, _: ReadAccess) -> schemas.LeadView:
    """A lead's status, scores, latest decision with its reasons, and history."""
    return await _view(request, lead_id)


LEAD_CSV = [
    "id",
    "status",
    "category",
    "first_name",
    "last_name",
    "email",
    "company",
    "owner",
    "team",
    "fit_score",
    "engagement_score",
    "stale",
    "disqualification_reason",
    "status_since",
    "created_at",
]


@router.get("/leads", response_model=schemas.LeadPage, responses={**browsing.CSV_ANSWER, **answers(422)})
async def list_leads(
    request: Request,
    _: ReadAccess,
    status_: Annotated[TextFilter, Query(alias="status")] = None,
    owner: TextFilter = None,
    stale: bool | None = None,
    q: browsing.SearchText = None,
    sort: schemas.LeadSort = "id",
    cursor: browsing.Cursor = None,
    limit: browsing.Limit = None,
    format: browsing.Format = None,
) -> Response | schemas.LeadPage:
    """Leads by status, owner, staleness and text (name, email, company, owner), sorted, in pages (up to
    1,000 as JSON); as CSV with format=csv or Accept: text/csv."""
    as_csv = browsing.wants_csv(request, format)
    async with runtime_of(request).pool.acquire() as conn:
        found = await repo.list_leads(
            conn,
            status_,
            owner,
            stale,
            q=q,
            sort=sort,
            cursor=cursor,
            limit=browsing.page_limit(as_csv, limit, 100, 1000),
        )
    return browsing.respond(found, as_csv, LEAD_CSV, schemas.LeadPage)


@router.post("/leads/{lead_id}/contacted", responses=CHANGE_ANSWERS)
async def mark_contacted(
    lead_id: UUID, body: sales.Contacted, request: Request, _: WriteAccess
) -> schemas.LeadView:
    """A salesperson reached the lead."""
    with answering_4xx():
        async with runtime_of(request).uow() as uow:
            await sales.mark_contacted(uow, await store_of(request).load(uow.conn), lead_id, body)
    return await _view(request, lead_id)


@router.post("/leads/{lead_id}/sales-report", responses=CHANGE_ANSWERS)
async def sales_report(
    lead_id: UUID, body: sales.SalesReport, request: Request, _: WriteAccess
) -> schemas.LeadView:
    """Record budget, authority, need and timeline as sales learned them; the lead is judged again."""
    with answering_4xx():
        async with runtime_of(request).uow() as uow:
            await sales.report(uow, await store_of(request).load(uow.conn), lead_id, body)
    return await _view(request, lead_id)


@router.post("/leads/{lead_id}/qualify", responses=CHANGE_ANSWERS)
async def qualify(
    lead_id: UUID, body: sales.ManualQualify, request: Request, _: WriteAccess
) -> schemas.LeadView:
    """Qualify by hand (kept as an override)."""
    with answering_4xx():
        async with runtime_of(request).uow() as uow:
            await sales.qualify(uow, await store_of(request).load(uow.conn), lead_id, body)
    return await _view(request, lead_id)


@router.post("/leads/{lead_id}/disqualify", responses=CHANGE_ANSWERS)
async def disqualify(
    lead_id: UUID, body: sales.ManualDisqualify, request: Request, _: WriteAccess
) -> schemas.LeadView:
    """Disqualify by hand with a reason (kept as an override)."""
    with answering_4xx():
        async with runtime_of(request).uow() as uow:
            await sales.disqualify(uow, await store_of(request).load(uow.conn), lead_id, body)
    return await _view(request, lead_id)


@router.post("/leads/{lead_id}/status", responses=CHANGE_ANSWERS)
async def change_status(
    lead_id: UUID, body: sales.StatusChange, request: Request, _: WriteAccess
) -> schemas.LeadView:
    """Move a lead between working statuses (open and contacted categories, custom ones included)."""
    with answering_4xx():
        async with runtime_of(request).uow() as uow:
            await sales.change_status(uow, await store_of(request).load(uow.conn), lead_id, body)
    return await _view(request, lead_id)


# criteria


@router.get("/criteria")
async def get_criteria(request: Request, _: ReadAccess) -> Criteria:
    """The criteria in force."""
    async with runtime_of(request).pool.acquire() as conn:
        config = await store_of(request).load(conn)
    return config.criteria


@router.put("/criteria", responses=answers(422))
async def put_criteria(
    request: Request,
    principal: AdminAccess,
    body: dict[str, Any] = Body(...),
    apply_to: SimulationScope | None = Query(
        default=None, description="re-judge open leads only, or every non-terminal lead, right away"
    ),
    actor: Annotated[Name, Query()] = "admin",
    overrides: Annotated[
        Literal["keep", "clear"],
        Query(
            description="with apply_to: `keep` (default) leaves leads held by a person's decision where the"
            " person put them; `clear` lifts those overrides and lets the criteria decide"
        ),
    ] = "keep",
) -> schemas.CriteriaStored:
    """Store a new criteria version (the body's version is ignored); optionally apply it to stored leads."""
    runtime = runtime_of(request)
    with answering_4xx():
        async with runtime.uow() as uow:
            criteria = await cfg.put_criteria(uow.conn, body, actor)
    applied = (
        await reports.reapply(runtime.uow, store_of(request), apply_to, overrides=overrides == "clear")
        if apply_to
        else None
    )
    return schemas.CriteriaStored.model_validate(
        {"criteria": criteria.model_dump(mode="json"), "applied": applied}
    )


class SimulationRequest(BaseModel):
    """A proposed criteria version and which leads to try it on."""

    model_config = ConfigDict(extra="forbid")

    criteria: dict[str, Any]
    scope: SimulationScope = SimulationScope.OPEN_ONLY
    max_leads: int = Field(default=100_000, ge=1, le=1_000_000)


@router.post("/criteria/simulate", responses=answers(422))
async def simulate_criteria(body: SimulationRequest, request: Request, _: WriteAccess) -> schemas.Simulation:
    """How many leads a proposed criteria version would move, from what to what, with samples."""
    async with runtime_of(request).pool.acquire() as conn:
        config = await store_of(request).load(conn)
        current = config.criteria
        with answering_4xx():
            proposed = cfg.proposed_criteria(body.criteria, current)
        result, truncated = await reports.run_simulation(conn, config, proposed, body.scope, body.max_leads)
    return schemas.Simulation.model_validate(
        {**result.model_dump(mode="json"), "changed": result.changed, "truncated": truncated}
    )


# statuses, assignment, staleness


class NewStatus(BaseModel):
    """A custom status mapped onto one base category."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    category: Name
    description: Text = ""


@router.get("/statuses")
async def get_statuses(request: Request, _: ReadAccess) -> schemas.Statuses:
    """The status catalog with what each status may move to."""
    async with runtime_of(request).pool.acquire() as conn:
        config = await store_of(request).load(conn)
    catalog = config.catalog
    return schemas.Statuses.model_validate(
        {
            "version": config.catalog_version,
            "statuses": [
                {**s.model_dump(mode="json"), "allowed_targets": list(catalog.allowed_targets(s.name))}
                for s in catalog.statuses
            ],
        }
    )


@router.post("/statuses", status_code=status.HTTP_201_CREATED, responses=answers(422))
async def add_status(body: NewStatus, request: Request, _: AdminAccess) -> schemas.Statuses:
    """Add a custom status."""
    with answering_4xx():
        async with runtime_of(request).uow() as uow:
            await cfg.add_status(
                uow.conn, store_of(request), body.name, body.category, body.description, "admin"
            )
    return await get_statuses(request, _)


@router.get("/assignment")
async def get_assignment(request: Request, _: ReadAccess) -> schemas.Assignment:
    """The owner-assignment policy in force (null: leads stay unassigned)."""
    async with runtime_of(request).pool.acquire() as conn:
        config = await store_of(request).load(conn)
    policy = config.assignment.model_dump(mode="json") if config.assignment else None
    return schemas.Assignment.model_validate({"version": config.assignment_version, "policy": policy})


@router.put("/assignment", responses=answers(422))
async def put_assignment(
    request: Request, _: AdminAccess, body: dict[str, Any] = Body(...)
) -> schemas.Assignment:
    """Store a new assignment policy."""
    with answering_4xx():
        async with runtime_of(request).uow() as uow:
            version, policy = await cfg.put_simple(uow.conn, cfg.ASSIGNMENT, body, "admin")
    return schemas.Assignment.model_validate({"version": version, "policy": policy.model_dump(mode="json")})


@router.get("/staleness")
async def get_staleness(request: Request, _: ReadAccess) -> schemas.Staleness:
    """The staleness limits in force, per base category, in (fractional) hours."""
    async with runtime_of(request).pool.acquire() as conn:
        config = await store_of(request).load(conn)
    return schemas.Staleness.model_validate(
        {"version": config.staleness_version, **config.staleness.model_dump(mode="json")}
    )


@router.put("/staleness", responses=answers(422))
async def put_staleness(
    request: Request, _: AdminAccess, body: dict[str, Any] = Body(...)
) -> schemas.Staleness:
    """Store new staleness limits."""
    with answering_4xx():
        async with runtime_of(request).uow() as uow:
            version, limits = await cfg.put_simple(uow.conn, cfg.STALENESS, body, "admin")
    return schemas.Staleness.model_validate({"version": version, **limits.model_dump(mode="json")})


@router.post("/staleness/sweep")
async def sweep_now(request: Request, _: AdminAccess) -> schemas.SweepDone:
    """Run one staleness sweep now (the background job runs it periodically)."""
    done = await sweep(runtime_of(request).uow, store_of(request))
    return schemas.SweepDone(flagged=done.flagged, unresponsive=done.unresponsive)


# KPIs


@router.get("/kpis/funnel", response_model_exclude_unset=True, responses=answers(422))
async def funnel(
    request: Request,
    _: ReadAccess,
    from_: Annotated[MomentFilter, Query(alias="from")] = None,
    to: MomentFilter = None,
    by: GroupBy | None = None,
) -> schemas.Funnel:
    """Funnel KPIs of the leads created in [from, to) (default: the last 30 days), optionally grouped."""
    end = to or now_utc()
    start = from_ or end - timedelta(days=30)
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "from and to need a timezone, e.g. 2026-11-01T00:00:00Z"
        )
    if start >= end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"from {start} must be before to {end}")
    async with runtime_of(request).pool.acquire() as conn:
        return schemas.Funnel.model_validate(
            await reports.funnel(conn, await store_of(request).load(conn), start, end, by)
        )
