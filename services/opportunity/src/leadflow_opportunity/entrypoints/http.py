"""HTTP entrypoints of opportunity."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, ValidationError

from leadflow_opportunity.adapters import leads, reports
from leadflow_opportunity.adapters import repository as repo
from leadflow_opportunity.adapters.config_store import ConfigKind, ConfigStore
from leadflow_opportunity.domain.criteria import OpportunityCriteria, SalesSignals
from leadflow_opportunity.domain.forecast import Dimension, forecast, kpis, kpis_by, pipeline
from leadflow_opportunity.domain.periods import Period
from leadflow_opportunity.domain.stages import InvalidMove, LostReasons, StageConflict, StageSet, UnknownStage
from leadflow_opportunity.entrypoints import schemas
from leadflow_opportunity.use_cases import configuration, conversion, stages
from leadflow_shared import browsing
from leadflow_shared.bounds import Day, Money, Name
from leadflow_shared.http import BEARER_ANSWERS, AdminAccess, ReadAccess, TextFilter, WriteAccess, answers
from leadflow_shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["opportunity"], responses=answers(*BEARER_ANSWERS))

MAX_PAGE = 500
# The columns of each list's CSV export, in order.
ACCOUNT_CSV = ["id", "name", "domain", "contacts", "open_opportunities", "created_at"]
CONTACT_CSV = [
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "account_id",
    "account_name",
    "owner",
    "source_system",
    "lead_id",
    "created_at",
]
OPPORTUNITY_CSV = [
    "id",
    "name",
    "stage",
    "probability",
    "forecast_category",
    "amount",
    "close_date",
    "owner",
    "source_system",
    "is_closed",
    "is_won",
    "lost_reason",
    "lead_id",
    "account_id",
    "contact_id",
    "opened_at",
    "closed_at",
]


def _problem(error: ValidationError) -> HTTPException:
    parts = []
    for err in error.errors():
        field = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"invalid: {'; '.join(parts)}")


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/leads/{lead_id}", responses=answers(404, 422))
async def get_lead(lead_id: UUID, request: Request, _: ReadAccess) -> schemas.LeadOverview:
    """What opportunity knows of a lead: its status, and the account, contact and opportunities it became."""
    async with runtime_of(request).pool.acquire() as conn:
        lead = await leads.lead_view(conn, lead_id)
        became = await repo.conversion_of(conn, lead_id)
    if lead is None and "account_id" not in became:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id}")
    # A conversion can arrive before the status read model has heard of the lead.
    return schemas.LeadOverview.model_validate(
        {"id": lead_id, "status": None, "profile": None, **(lead or {}), **became}
    )


# configuration


def store_of(request: Request) -> ConfigStore:
    """The service's configuration store."""
    store: ConfigStore = runtime_of(request).definition.state["config"]
    return store


async def _current(request: Request, kind: ConfigKind) -> dict[str, Any]:
    async with runtime_of(request).pool.acquire() as conn:
        config = await store_of(request).load(conn)
    model = {
        ConfigKind.CRITERIA: config.criteria,
        ConfigKind.STAGES: config.stages,
        ConfigKind.LOST_REASONS: config.lost_reasons,
    }[kind]
    return model.model_dump(mode="json")


async def _replace(request: Request, kind: ConfigKind, body: dict[str, Any]) -> dict[str, Any]:
    try:
        async with runtime_of(request).uow() as uow:
            model = await configuration.replace(uow, kind, body)
    except ValidationError as error:
        raise _problem(error) from error
    return model.model_dump(mode="json")


@router.get("/opportunity-criteria")
async def get_criteria(request: Request, _: ReadAccess) -> OpportunityCriteria:
    """The current opportunity criteria."""
    return OpportunityCriteria.model_validate(await _current(request, ConfigKind.CRITERIA))


@router.put("/opportunity-criteria", responses=answers(422))
async def put_criteria(
    request: Request, _: AdminAccess, body: Annotated[dict[str, Any], Body()]
) -> OpportunityCriteria:
    """Store a new version of the opportunity criteria (the version is assigned)."""
    return OpportunityCriteria.model_validate(await _replace(request, ConfigKind.CRITERIA, body))


@router.get("/stages")
async def get_stages(request: Request, _: ReadAccess) -> StageSet:
    """The current stage set."""
    return StageSet.model_validate(await _current(request, ConfigKind.STAGES))


@router.put("/stages", responses=answers(422))
async def put_stages(request: Request, _: AdminAccess, body: Annotated[dict[str, Any], Body()]) -> StageSet:
    """Store a new version of the stages."""
    return StageSet.model_validate(await _replace(request, ConfigKind.STAGES, body))


@router.get("/lost-reasons")
async def get_lost_reasons(request: Request, _: ReadAccess) -> LostReasons:
    """The current lost reasons."""
    return LostReasons.model_validate(await _current(request, ConfigKind.LOST_REASONS))


@router.put("/lost-reasons", responses=answers(422))
async def put_lost_reasons(
    request: Request, _: AdminAccess, body: Annotated[dict[str, Any], Body()]
) -> LostReasons:
    """Store a new version of the lost reasons."""
    return LostReasons.model_validate(await _replace(request, ConfigKind.LOST_REASONS, body))


# contacts and accounts


@router.get(
    "/accounts", response_model=schemas.AccountPage, responses={**browsing.CSV_ANSWER, **answers(422)}
)
async def list_accounts(
    request: Request,
    _: ReadAccess,
    q: browsing.SearchText = None,
    sort: schemas.AccountSort = "name",
    cursor: browsing.Cursor = None,
    limit: browsing.Limit = None,
    format: browsing.Format = None,
) -> Response | schemas.AccountPage:
    """Accounts searched by name or domain and sorted, one page at a time; CSV with format=csv."""
    as_csv = browsing.wants_csv(request, format)
    async with runtime_of(request).pool.acquire() as conn:
        found = await repo.list_accounts(
            conn, q=q, sort=sort, cursor=cursor, limit=browsing.page_limit(as_csv, limit, 100, MAX_PAGE)
        )
    return browsing.respond(found, as_csv, ACCOUNT_CSV, schemas.AccountPage)


@router.get(
    "/contacts", response_model=schemas.ContactPage, responses={**browsing.CSV_ANSWER, **answers(422)}
)
async def list_contacts(
    request: Request,
    _: ReadAccess,
    account_id: UUID | None = None,
    owner: TextFilter = None,
    q: browsing.SearchText = None,
    sort: schemas.ContactSort = "-created_at",
    cursor: browsing.Cursor = None,
    limit: browsing.Limit = None,
    format: browsing.Format = None,
) -> Response | schemas.ContactPage:
    """Contacts searched by name, email, job title or account name and sorted, one page at a time; CSV with
    format=csv."""
    as_csv = browsing.wants_csv(request, format)
    async with runtime_of(request).pool.acquire() as conn:
        found = await repo.list_contacts(
            conn,
            account_id=account_id,
            owner=owner,
            q=q,
            sort=sort,
            cursor=cursor,
            limit=browsing.page_limit(as_csv, limit, 100, MAX_PAGE),
        )
    return browsing.respond(found, as_csv, CONTACT_CSV, schemas.ContactPage)


@router.get("/accounts/{account_id}", responses=answers(404, 422))
async def get_account(account_id: UUID, request: Request, _: ReadAccess) -> schemas.AccountDetail:
    """An account with its contacts and opportunities."""
    async with runtime_of(request).pool.acquire() as conn:
        account = await repo.account_view(conn, account_id)
    if account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no account {account_id}")
    return schemas.AccountDetail.model_validate(account)


@router.get("/contacts/{contact_id}", responses=answers(404, 422))
async def get_contact(contact_id: UUID, request: Request, _: ReadAccess) -> schemas.ContactDetail:
    """A contact with its signals, last criteria check, leads and opportunities."""
    async with runtime_of(request).pool.acquire() as conn:
        contact = await repo.contact_view(conn, contact_id)
    if contact is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no contact {contact_id}")
    return schemas.ContactDetail.model_validate(contact)


@router.post("/contacts/{contact_id}/signals", responses=answers(404, 422))
async def post_signals(
    contact_id: UUID, request: Request, _: WriteAccess, body: Annotated[dict[str, Any], Body()]
) -> schemas.SignalsRecorded:
    """Record what sales learned; opens an opportunity when the criteria now hold."""
    try:
        report = SalesSignals.model_validate(body)
    except ValidationError as error:
        raise _problem(error) from error
    try:
        async with runtime_of(request).uow() as uow:
            config = await store_of(request).load(uow.conn)
            outcome = await conversion.record_sales_signals(uow, config, contact_id, report, _now())
    except conversion.ContactNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    return schemas.SignalsRecorded.model_validate(
        {
            "contact_id": outcome.contact_id,
            "account_id": outcome.account_id,
            "opportunity_id": outcome.opportunity_id,
            "criteria": conversion.criteria_check_json(outcome.criteria),
        }
    )


# opportunities


class StageMoveRequest(BaseModel):
    """A move to a stage, optionally updating amount, close date and probability."""

    model_config = ConfigDict(extra="forbid")

    stage: Name
    lost_reason: Name | None = None
    amount: Money | None = None
    close_date: Day | None = None
    probability: float | None = None
    actor: Name = "api"


@router.post(
    "/opportunities/{opportunity_id}/stage",
    responses=answers(404, 409, 422),
)
async def post_stage(
    opportunity_id: UUID, move: StageMoveRequest, request: Request, _: WriteAccess
) -> schemas.StageMoved:
    """Move an opportunity (409 when closed, 422 for an unknown stage or bad details)."""
    try:
        async with runtime_of(request).uow() as uow:
            moved = await stages.move_opportunity(
                uow,
                await store_of(request).load(uow.conn),
                opportunity_id,
                stage=move.stage,
                actor=move.actor,
                now=_now(),
                lost_reason=move.lost_reason,
                amount=move.amount,
                close_date=move.close_date,
                probability=move.probability,
            )
    except stages.OpportunityNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except StageConflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except (UnknownStage, InvalidMove) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    return schemas.StageMoved.model_validate(
        {**moved.state.model_dump(mode="json"), "changed": list(moved.changed)}
    )


@router.get(
    "/opportunities",
    response_model=schemas.OpportunityPage,
    responses={**browsing.CSV_ANSWER, **answers(422)},
)
async def list_opportunities(
    request: Request,
    _: ReadAccess,
    stage: TextFilter = None,
    owner: TextFilter = None,
    closing_before: Annotated[Day | None, Query()] = None,
    q: browsing.SearchText = None,
    sort: schemas.OpportunitySort = "close_date",
    cursor: browsing.Cursor = None,
    limit: browsing.Limit = None,
    format: browsing.Format = None,
) -> Response | schemas.OpportunityPage:
    """Opportunities filtered, searched (name, owner, stage) and sorted, one page at a time (pass
    next_cursor as cursor); as CSV with format=csv or Accept: text/csv."""
    as_csv = browsing.wants_csv(request, format)
    async with runtime_of(request).pool.acquire() as conn:
        found = await repo.list_opportunities(
            conn,
            stage=stage,
            owner=owner,
            closing_before=closing_before,
            q=q,
            sort=sort,
            cursor=cursor,
            limit=browsing.page_limit(as_csv, limit, 100, MAX_PAGE),
        )
    return browsing.respond(found, as_csv, OPPORTUNITY_CSV, schemas.OpportunityPage)


@router.get("/opportunities/{opportunity_id}", responses=answers(404, 422))
async def get_opportunity(opportunity_id: UUID, request: Request, _: ReadAccess) -> schemas.OpportunityDetail:
    """An opportunity with its stage history."""
    async with runtime_of(request).pool.acquire() as conn:
        opportunity = await repo.opportunity_view(conn, opportunity_id)
    if opportunity is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no opportunity {opportunity_id}")
    return schemas.OpportunityDetail.model_validate(opportunity)


@router.get("/pipeline")
async def get_pipeline(request: Request, _: ReadAccess) -> schemas.Pipeline:
    """Open opportunities per stage: count, amount and probability-weighted amount."""
    async with runtime_of(request).pool.acquire() as conn:
        config = await store_of(request).load(conn)
        by_stage = await reports.stage_sums(conn, open_only=True)
    rows = pipeline(by_stage, config.stages)
    return schemas.Pipeline.model_validate(
        {
            "stage_set_version": config.stages.version,
            "stages": [{"stage": row.stage, **asdict(row.totals)} for row in rows],
        }
    )


@router.get("/forecast", responses=answers(422))
async def get_forecast(request: Request, _: ReadAccess, period: Period = Period.MONTH) -> schemas.Forecast:
    """Opportunities per close period and forecast category."""
    async with runtime_of(request).pool.acquire() as conn:
        cells = forecast(await reports.forecast_sums(conn, period), period)
    return schemas.Forecast.model_validate(
        {
            "period": period.value,
            "cells": [{"period": c.period, "category": c.category.value, **asdict(c.totals)} for c in cells],
        }
    )


@router.get("/kpis", responses=answers(422))
async def get_kpis(request: Request, _: ReadAccess, by: Dimension = Dimension.SOURCE) -> schemas.KpiReport:
    """Lead-to-opportunity rate, win rate, average deal size and median sales cycle per source or campaign."""
    async with runtime_of(request).pool.acquire() as conn:
        groups, overall = await reports.kpi_counts(conn, by)
    return schemas.KpiReport.model_validate(
        {
            "by": by.value,
            "groups": [asdict(k) for k in kpis_by(groups)],
            "overall": asdict(kpis("all", overall)),
        }
    )
