"""HTTP entrypoints of intake: submissions, activities, queries, duplicates, imports, KPIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from leadflow_intake.adapters import repository as repo
from leadflow_intake.domain.activity import ActivityRejected, read_activity
from leadflow_intake.domain.kpis import source_rates
from leadflow_intake.domain.normalise import Rejected, email_key, normalise
from leadflow_intake.entrypoints import schemas
from leadflow_intake.settings import IntakeSettings
from leadflow_intake.use_cases import corrections
from leadflow_intake.use_cases.imports import create_import, import_status
from leadflow_intake.use_cases.merge import decide_duplicate
from leadflow_intake.use_cases.merge import unmerge_lead as unmerge
from leadflow_intake.use_cases.submit import accept_submission
from leadflow_shared import browsing, pagination
from leadflow_shared.bounds import MAX_INT, MAX_ITEMS, MAX_NAME, MAX_TEXT, Moment, Name, SafeText, Text
from leadflow_shared.contracts.events import ActivityRecorded
from leadflow_shared.contracts.lead import (
    Campaign,
    Channel,
    Consent,
    JsonObject,
    LeadSubmission,
    QualifyingAnswers,
)
from leadflow_shared.http import BEARER_ANSWERS, MomentFilter, ReadAccess, TextFilter, WriteAccess, answers
from leadflow_shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["leads"], responses=answers(*BEARER_ANSWERS))
PageSize = Annotated[int, Query(ge=1, le=500)]


def _page(items: list[dict[str, Any]], limit: int, time_key: str) -> dict[str, Any]:
    """A page of rows paged by (time_key, id); the cursor names time_key as its order."""
    last = items[-1] if len(items) == limit else None
    return {
        "items": items,
        "next_cursor": pagination.encode_cursor(time_key, last[time_key], last["id"]) if last else None,
    }


_STRICT = ConfigDict(frozen=True, extra="forbid")


class CampaignIn(Campaign):
    """Attribution as the API takes it: a misspelt field is refused, not dropped."""

    model_config = _STRICT


class ConsentIn(Consent):
    """Consent as the API takes it: a misspelt channel is refused, not dropped."""

    model_config = _STRICT


class AnswersIn(QualifyingAnswers):
    """Qualifying answers as the API takes it: a misspelt answer is refused, not dropped."""

    model_config = _STRICT


class LeadSubmissionIn(LeadSubmission):
    """A canonical submission as the API takes it: unknown fields (`compnay`) are refused with a 422."""

    model_config = _STRICT

    consent: ConsentIn = ConsentIn()
    answers: AnswersIn = AnswersIn()
    campaign: CampaignIn = CampaignIn()


@router.post("/leads", status_code=status.HTTP_202_ACCEPTED, responses=answers(413, 422))
async def submit_lead(
    submission: LeadSubmissionIn, request: Request, _: WriteAccess
) -> schemas.SubmissionAccepted:
    """Accept a canonical lead submission; it is processed through leads.submitted.

    What normalisation would refuse (no valid way to reach the person) is refused here, before the 202.
    """
    settings = runtime_of(request).settings
    assert isinstance(settings, IntakeSettings)
    checked = normalise(submission, received_at=datetime.now(UTC), default_region=settings.default_region)
    if isinstance(checked, Rejected):
        raise RequestValidationError(
            [{"loc": ("body", p.field), "msg": p.message, "type": "value_error"} for p in checked.problems]
        )
    canonical = LeadSubmission.model_validate(submission.model_dump())
    submission_id = await accept_submission(runtime_of(request).uow, canonical, request.state.correlation_id)
    return schemas.SubmissionAccepted(submission_id=submission_id, status="accepted")


@router.get("/leads/{lead_id}", responses=answers(404, 422))
async def get_lead(lead_id: UUID, request: Request, _: ReadAccess) -> schemas.LeadDetail:
    """A lead's profile and every touch (a merged lead names its survivor in merged_into)."""
    async with runtime_of(request).pool.acquire() as conn:
        lead = await repo.lead_with_touches(conn, lead_id)
    if lead is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id}")
    return schemas.LeadDetail.model_validate(lead)


class AnswersPatchIn(BaseModel):
    """Corrected qualifying answers: those given replace the stored ones, null clears one."""

    model_config = _STRICT

    budget: Text | None = None
    authority: Text | None = None
    need: Text | None = None
    timeline: Text | None = None


class LeadCorrectionIn(BaseModel):
    """A person's correction: who and why, and the profile fields to change (given: replaced; null: cleared).

    Fields not given are left as they are; unknown fields are refused.
    """

    model_config = _STRICT

    actor: Name = Field(description="who corrects the lead (a person or a system acting for one)")
    reason: Annotated[SafeText, Field(min_length=1, max_length=MAX_TEXT)]
    first_name: Name | None = None
    last_name: Name | None = None
    email: Name | None = None
    phone: Annotated[SafeText, Field(min_length=1, max_length=50)] | None = None
    company: Name | None = None
    website: Name | None = None
    job_title: Name | None = None
    country: Name | None = None
    industry: Name | None = None
    company_size: Annotated[int, Field(ge=0, le=MAX_INT)] | None = None
    answers: AnswersPatchIn | None = None
    custom_fields: Annotated[JsonObject, Field(max_length=MAX_ITEMS)] | None = None

    def fields(self) -> dict[str, Any]:
        """The profile fields given (null included), answers and custom fields as given."""
        given = self.model_dump(include=self.model_fields_set - {"actor", "reason", "answers"})
        if self.answers is not None:
            given["answers"] = self.answers.model_dump(include=self.answers.model_fields_set)
        return given


@router.patch("/leads/{lead_id}", responses=answers(404, 409, 422))
async def correct_lead(
    lead_id: UUID, body: LeadCorrectionIn, request: Request, _: WriteAccess
) -> schemas.LeadCorrected:
    """Correct a lead's profile by hand: the values given are the newest facts, actor and reason are kept.

    An effective change emits lead.updated naming the changed fields; no change, no event. A merged lead
    answers 409 naming its survivor, which is the one to correct.
    """
    settings = runtime_of(request).settings
    assert isinstance(settings, IntakeSettings)
    async with runtime_of(request).uow() as uow:
        result = await corrections.correct_lead(
            uow,
            lead_id,
            body.fields(),
            actor=body.actor,
            reason=body.reason,
            default_region=settings.default_region or None,
            correlation_id=request.state.correlation_id,
        )
    if result.outcome == "not_found":
        raise HTTPException(status.HTTP_404_NOT_FOUND, result.message)
    if result.outcome == "merged":
        raise HTTPException(
            status.HTTP_409_CONFLICT, {"message": result.message, "merged_into": str(result.merged_into)}
        )
    if result.outcome == "conflict":
        raise HTTPException(status.HTTP_409_CONFLICT, result.message)
    if result.outcome == "invalid":
        raise RequestValidationError(
            [
                {"loc": ("body", p["field"]), "msg": p["message"], "type": "value_error"}
                for p in result.problems
            ],
        )
    assert result.profile is not None
    return schemas.LeadCorrected(
        id=lead_id,
        changed=list(result.changed),
        profile=result.profile.model_dump(mode="json"),
        correction_id=result.correction_id,
    )


LEAD_CSV = [
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "country",
    "industry",
    "created_at",
    "updated_at",
]


@router.get("/leads", response_model=schemas.LeadPage, responses={**browsing.CSV_ANSWER, **answers(422)})
async def find_leads(
    request: Request,
    _: ReadAccess,
    email: TextFilter = None,
    source: Annotated[TextFilter, Query(description="a source system, e.g. google_ads, csv")] = None,
    since: Annotated[MomentFilter, Query(description="created at or after this time")] = None,
    q: browsing.SearchText = None,
    sort: schemas.LeadSort = "created_at",
    cursor: browsing.Cursor = None,
    limit: browsing.Limit = None,
    format: browsing.Format = None,
) -> Response | schemas.LeadPage:
    """Live leads by email, source system, creation time and text (name, email, company, job title),
    sorted (oldest first by default), keyset paginated; as CSV with format=csv or Accept: text/csv."""
    as_csv = browsing.wants_csv(request, format)
    async with runtime_of(request).pool.acquire() as conn:
        found = await repo.list_leads(
            conn,
            email=email_key(email) if email else None,
            source=source.replace("-", "_") if source else None,
            since=since,
            q=q,
            sort=sort,
            cursor=cursor,
            limit=browsing.page_limit(as_csv, limit, 100),
        )
    if as_csv:
        found.items = [{**item["profile"], **item} for item in found.items]
    return browsing.respond(found, as_csv, LEAD_CSV, schemas.LeadPage)


@router.get("/rejections", responses=answers(422))
async def list_rejections(
    request: Request, _: ReadAccess, cursor: browsing.Cursor = None, limit: PageSize = 100
) -> schemas.RejectionPage:
    """Everything kept in quarantine, with its reason, oldest first."""
    async with runtime_of(request).pool.acquire() as conn:
        items = await repo.list_rejections(
            conn, pagination.decode_moment_cursor(cursor, "received_at"), limit
        )
    return schemas.RejectionPage.model_validate(_page(items, limit, "received_at"))


class ActivityIn(BaseModel):
    """An engagement or trigger event, named the way the sending system names it."""

    activity_id: Name = Field(default_factory=lambda: str(uuid4()))
    lead_id: UUID | None = None
    email: Name | None = None
    activity_type: Annotated[SafeText, Field(max_length=MAX_NAME)] = Field(
        default="", description="e.g. email_opened, page_view, demo_request, trigger"
    )
    occurred_at: Moment
    trigger: Name | None = Field(default=None, description="budget_approved, funding_round, new_role, ...")
    source_system: Annotated[Name, Field(max_length=100)] = "api"
    details: JsonObject = Field(default_factory=dict)


@router.post("/activities", status_code=status.HTTP_202_ACCEPTED, responses=answers(422))
async def record_activity(activity: ActivityIn, request: Request, _: WriteAccess) -> schemas.ActivityAccepted:
    """Accept an activity; it is resolved to a lead through leads.activity and emitted as lead.engaged."""
    if activity.lead_id is None and not activity.email:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "lead_id or email: one of them is required"
        )
    read = read_activity(
        activity.activity_type,
        occurred_at=activity.occurred_at,
        now=datetime.now(UTC),
        trigger=activity.trigger,
        details=activity.details,
    )
    if isinstance(read, ActivityRejected):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "; ".join(f"{p.field}: {p.message}" for p in read.problems)
        )
    async with runtime_of(request).uow() as uow:
        envelope = await uow.outbox.emit(
            ActivityRecorded(
                activity_id=activity.activity_id,
                lead_id=activity.lead_id,
                email=activity.email,
                activity_type=read.activity_type,
                occurred_at=read.occurred_at,
                trigger=read.trigger,
                source_system=activity.source_system,
                details=dict(read.details),
            ),
            correlation_id=request.state.correlation_id,
        )
    return schemas.ActivityAccepted(status="accepted", activity_id=activity.activity_id, event_id=envelope.id)


@router.get("/duplicates", responses=answers(422))
async def list_duplicates(
    request: Request,
    _: ReadAccess,
    status_: Literal["open", "merged", "dismissed"] = Query(default="open", alias="status"),
    cursor: browsing.Cursor = None,
    limit: PageSize = 100,
) -> schemas.DuplicatePage:
    """Possible duplicate pairs (score between the review and merge thresholds) for a person to decide."""
    async with runtime_of(request).pool.acquire() as conn:
        items = await repo.list_duplicates(
            conn, status_, pagination.decode_moment_cursor(cursor, "created_at"), limit
        )
    return schemas.DuplicatePage.model_validate(_page(items, limit, "created_at"))


class MergeIn(BaseModel):
    """Which lead of the pair survives; by default the older one."""

    survivor: UUID | None = None


async def _decide(
    request: Request, duplicate_id: UUID, action: Literal["merge", "dismiss"], survivor: UUID | None
) -> schemas.DuplicateDecision:
    async with runtime_of(request).uow() as uow:
        decision = await decide_duplicate(
            uow, duplicate_id, action, survivor=survivor, correlation_id=request.state.correlation_id
        )
    if decision.outcome == "not_found":
        raise HTTPException(status.HTTP_404_NOT_FOUND, decision.message)
    if decision.outcome == "conflict":
        raise HTTPException(status.HTTP_409_CONFLICT, decision.message)
    return schemas.DuplicateDecision(
        id=duplicate_id, status=decision.outcome, survivor=decision.survivor, merged=decision.merged
    )


@router.post("/duplicates/{duplicate_id}/merge", responses=answers(404, 409, 422))
async def merge_duplicate(
    duplicate_id: UUID, request: Request, _: WriteAccess, body: MergeIn | None = None
) -> schemas.DuplicateDecision:
    """Merge a listed pair: the loser folds into the survivor, which keeps every touch; emits lead.merged."""
    return await _decide(request, duplicate_id, "merge", body.survivor if body else None)


@router.post("/duplicates/{duplicate_id}/dismiss", responses=answers(404, 409, 422))
async def dismiss_duplicate(
    duplicate_id: UUID, request: Request, _: WriteAccess
) -> schemas.DuplicateDecision:
    """Mark a listed pair as two different people."""
    return await _decide(request, duplicate_id, "dismiss", None)


class UnmergeIn(BaseModel):
    """Who undoes a merge and why."""

    model_config = _STRICT

    actor: Name
    reason: Annotated[SafeText, Field(min_length=1, max_length=MAX_TEXT)]


@router.post("/leads/{lead_id}/unmerge", responses=answers(404, 409, 422))
async def unmerge_lead(
    lead_id: UUID, body: UnmergeIn, request: Request, _: WriteAccess
) -> schemas.LeadUnmerged:
    """Undo the merge of this (merged) lead: both leads are live again with their own touches; emits
    lead.unmerged. 409 when the lead is not merged or its merge cannot be undone."""
    async with runtime_of(request).uow() as uow:
        result = await unmerge(
            uow, lead_id, actor=body.actor, reason=body.reason, correlation_id=request.state.correlation_id
        )
    if result.outcome == "not_found":
        raise HTTPException(status.HTTP_404_NOT_FOUND, result.message)
    if result.outcome == "conflict":
        raise HTTPException(status.HTTP_409_CONFLICT, result.message)
    assert result.profile is not None
    assert result.survivor_profile is not None
    assert result.survivor is not None
    return schemas.LeadUnmerged(
        id=lead_id,
        survivor=result.survivor,
        profile=result.profile.model_dump(mode="json"),
        survivor_profile=result.survivor_profile.model_dump(mode="json"),
    )


@router.post("/imports", status_code=status.HTTP_202_ACCEPTED, responses=answers(413, 415, 422))
async def upload_import(
    request: Request,
    _: WriteAccess,
    file: Annotated[UploadFile, File(description="the CSV file")],
    channel: Annotated[Channel, Form()] = Channel.TRADE_SHOW,
    campaign_name: Annotated[SafeText | None, Form(max_length=MAX_NAME)] = None,
    campaign_id: Annotated[SafeText | None, Form(max_length=MAX_NAME)] = None,
) -> schemas.ImportAccepted:
    """Store a CSV upload; a background job submits its rows. Follow it at GET /v1/imports/{id}."""
    settings = runtime_of(request).settings
    assert isinstance(settings, IntakeSettings)
    content = await file.read(settings.import_max_bytes + 1)
    if len(content) > settings.import_max_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"file over the {settings.import_max_bytes}-byte limit"
        )
    if not content.strip():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "file: the upload is empty")
    if b"\x00" in content[:4096]:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "file: not a text CSV (binary content)")
    async with runtime_of(request).uow() as uow:
        import_id = await create_import(
            uow,
            file.filename or "upload.csv",
            content,
            channel,
            Campaign(campaign_name=campaign_name, campaign_id=campaign_id),
        )
    return schemas.ImportAccepted(id=import_id, status="pending")


@router.get("/imports/{import_id}", responses=answers(404, 422))
async def get_import(
    import_id: UUID,
    request: Request,
    _: ReadAccess,
    errors_after: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    errors_limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> schemas.ImportStatus:
    """An import's status, progress (0..1), counts and per-row errors."""
    async with runtime_of(request).pool.acquire() as conn:
        found = await import_status(conn, import_id, errors_after, errors_limit)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no import {import_id}")
    return schemas.ImportStatus.model_validate(found)


@router.get("/kpis/sources", responses=answers(422))
async def source_kpis(
    request: Request,
    _: ReadAccess,
    since: MomentFilter = None,
    until: MomentFilter = None,
) -> schemas.SourceKpis:
    """Touches and leads by day, source, channel and campaign; duplicate and rejection rates."""
    end = until or datetime.now(UTC)
    start = since or end - timedelta(days=30)
    async with runtime_of(request).pool.acquire() as conn:
        rows, totals = await repo.source_kpi_rows(conn, start, end)
    rates = source_rates(
        touches=totals["touches"],
        new_leads=totals["new_leads"],
        merged_leads=totals["merged_leads"],
        rejections=totals["rejections"],
    )
    return schemas.SourceKpis.model_validate(
        {
            "since": start,
            "until": end,
            "by_day": rows,
            "totals": {
                **totals,
                "duplicate_rate": rates.duplicate_rate,
                "rejection_rate": rates.rejection_rate,
            },
        }
    )
