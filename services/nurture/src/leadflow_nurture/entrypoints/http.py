"""HTTP entrypoints of nurture."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, HTTPException, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from leadflow_nurture.adapters import consent as consent_store
from leadflow_nurture.adapters import kpis, views
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.consent import ConsentChange
from leadflow_nurture.domain.enrollment import EnrollmentStatus
from leadflow_nurture.domain.tracks import InvalidTrackSet, parse_track_set
from leadflow_nurture.domain.unsubscribe import (
    MAX_TOKEN,
    BadToken,
    Claim,
    ExpiredToken,
    UnsubscribeLinks,
    verify,
)
from leadflow_nurture.entrypoints import schemas
from leadflow_nurture.use_cases import consent, lifecycle
from leadflow_shared import browsing
from leadflow_shared.bounds import MAX_TEXT, Name, SafeText
from leadflow_shared.http import BEARER_ANSWERS, AdminAccess, ReadAccess, TextFilter, WriteAccess, answers
from leadflow_shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["nurture"], responses=answers(*BEARER_ANSWERS))
# No bearer here: the signature in the link authenticates (RFC 8058; the recipient's mail client posts it).
unsubscribe_router = APIRouter(prefix="/v1", tags=["unsubscribe"])

Token = Annotated[str, Path(max_length=MAX_TOKEN, description="the signed token of an email's link")]


def _store(request: Request) -> TrackStore:
    store: TrackStore = runtime_of(request).definition.state["tracks"]
    return store


@router.get("/tracks")
async def get_tracks(request: Request, _: AdminAccess) -> schemas.Tracks:
    """The tracks in force, in matching order, each with its version."""
    async with runtime_of(request).pool.acquire() as conn:
        tracks = await _store(request).load(conn)
    return schemas.Tracks(tracks=list(tracks.tracks))


@router.put("/tracks", responses=answers(422))
async def put_tracks(request: Request, _: AdminAccess, body: Annotated[Any, Body()] = None) -> schemas.Tracks:
    """Replace the tracks (at least one); changed ones get a new version, running enrollments keep theirs."""
    try:
        tracks = parse_track_set(body if isinstance(body, dict | list) else {"tracks": body})
    except InvalidTrackSet as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    async with runtime_of(request).uow() as uow:
        stored = await _store(request).replace(uow.conn, tracks)
    return schemas.Tracks(tracks=list(stored.tracks))


@router.get(
    "/leads/{lead_id}",
    response_model_exclude_unset=True,
    responses=answers(404, 422),
)
async def get_lead(lead_id: UUID, request: Request, _: ReadAccess) -> schemas.LeadOverview:
    """What nurture knows of a lead: status, enrollments, touches sent and due, engagement, archive."""
    async with runtime_of(request).pool.acquire() as conn:
        view = await views.lead_overview(conn, lead_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id}")
    return schemas.LeadOverview.model_validate(view)


class ReverseIn(BaseModel):
    """Who reverses an archive, and why."""

    model_config = ConfigDict(extra="forbid")

    actor: Name = Field(default="api", description="the person who reopens the lead")
    reason: Annotated[SafeText, Field(min_length=1, max_length=MAX_TEXT)] = lifecycle.ARCHIVE_REVERSED


@router.post("/leads/{lead_id}/archive/reverse", responses=answers(404, 422))
async def reverse_archive(
    lead_id: UUID, request: Request, _: WriteAccess, body: ReverseIn | None = None
) -> schemas.Archive:
    """Reverse an archive by hand: qualification gets lead.requalification_requested naming the person, and
    reopens the lead as their decision (an override automatic judgements do not undo)."""
    asked = body or ReverseIn()
    async with runtime_of(request).uow() as uow:
        reversed_archive = await lifecycle.reverse_archive(
            uow, lead_id, actor=asked.actor, reason=asked.reason
        )
    if reversed_archive is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"lead {lead_id} has no archive to reverse")
    return schemas.Archive.model_validate(reversed_archive)


ENROLLMENT_CSV = [
    "id",
    "lead_id",
    "email",
    "company",
    "track",
    "track_version",
    "source",
    "status",
    "started_at",
    "engagement_points",
    "touches_sent",
    "touches_skipped",
    "last_touch_at",
    "ended_at",
    "end_reason",
]


@router.get(
    "/enrollments",
    response_model=schemas.EnrollmentPage,
    responses={**browsing.CSV_ANSWER, **answers(422)},
)
async def list_enrollments(
    request: Request,
    _: ReadAccess,
    track: TextFilter = None,
    state: EnrollmentStatus | None = None,
    q: browsing.SearchText = None,
    sort: schemas.EnrollmentSort = "enrolled",
    cursor: browsing.Cursor = None,
    limit: browsing.Limit = None,
    format: browsing.Format = None,
) -> Response | schemas.EnrollmentPage:
    """Enrollments filtered by track, state and text (track, the lead's name, email, company), sorted (in
    the order they began by default); keyset pages via next_cursor; CSV with format=csv."""
    as_csv = browsing.wants_csv(request, format)
    async with runtime_of(request).pool.acquire() as conn:
        found = await views.enrollments_page(
            conn,
            track=track,
            status=state,
            q=q,
            sort=sort,
            cursor=cursor,
            limit=browsing.page_limit(as_csv, limit, 100),
        )
    return browsing.respond(found, as_csv, ENROLLMENT_CSV, schemas.EnrollmentPage)


@router.get("/kpis/tracks")
async def track_kpis(request: Request, _: ReadAccess) -> schemas.TrackKpiList:
    """Per track: enrolled, active, touches sent, engagement and requalified rates, exhausted, archived."""
    async with runtime_of(request).pool.acquire() as conn:
        counts = await kpis.track_counts(conn)
    return schemas.TrackKpiList.model_validate(
        {
            "tracks": [
                {
                    **asdict(track),
                    "engagement_rate": track.engagement_rate,
                    "requalified_rate": track.requalified_rate,
                    "exhausted_rate": track.exhausted_rate,
                }
                for track in counts
            ]
        }
    )


@router.get("/leads/{lead_id}/consent", responses=answers(404, 422))
async def get_consent(lead_id: UUID, request: Request, _: ReadAccess) -> schemas.LeadConsent:
    """The lead's consent per channel (source, time, proof) and its address's suppression, if listed."""
    async with runtime_of(request).pool.acquire() as conn:
        view = await views.consent_view(conn, lead_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id} and no consent recorded for it")
    return schemas.LeadConsent.model_validate(view)


@router.put("/leads/{lead_id}/consent", responses=answers(422))
async def put_consent(
    lead_id: UUID, update: schemas.ConsentUpdate, request: Request, _: WriteAccess
) -> schemas.LeadConsent:
    """Record an opt-in or opt-out on one channel; kept even for a lead nurture has not heard of yet.

    An email opt-out stops sending as intake's lead.consent_changed does; an email opt-in lifts the
    suppression an opt-out put on the address (never a bounce's).
    """
    at = lifecycle.now()
    reason = update.reason or update.source
    change = ConsentChange(lead_id, update.channel, update.opted_in, update.source, reason, at, update.proof)
    async with runtime_of(request).uow() as uow:
        await consent.record(uow, change, lift=True)
        view = await views.consent_view(uow.conn, lead_id)
    assert view is not None
    return schemas.LeadConsent.model_validate(view)


def _claim(request: Request, token: str) -> Claim:
    links: UnsubscribeLinks = runtime_of(request).definition.state["unsubscribe_links"]
    try:
        return verify(token, links.secret, lifecycle.now())
    except ExpiredToken as error:
        raise HTTPException(status.HTTP_410_GONE, str(error)) from error
    except BadToken as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error


@unsubscribe_router.get("/unsubscribe/{token}", responses=answers(404, 410, 422))
async def show_unsubscribe(token: Token, request: Request) -> schemas.UnsubscribeLink:
    """What the link does, without doing it: mail scanners fetch links, so only a POST unsubscribes."""
    claim = _claim(request, token)
    async with runtime_of(request).pool.acquire() as conn:
        record = await consent_store.current(conn, claim.lead_id, claim.channel)
    opted_out = record is not None and record["opted_in"] is False
    return schemas.UnsubscribeLink.model_validate(
        {
            "channel": claim.channel,
            "expires_at": claim.expires_at,
            "opted_out": opted_out,
            "detail": "you are unsubscribed"
            if opted_out
            else "POST List-Unsubscribe=One-Click to this address to unsubscribe",
        }
    )


@unsubscribe_router.post("/unsubscribe/{token}", responses=answers(404, 410, 422))
async def one_click_unsubscribe(token: Token, request: Request) -> schemas.Unsubscribed:
    """RFC 8058 one-click unsubscribe: the link's lead is opted out of its channel and gets nothing more."""
    claim = _claim(request, token)
    async with runtime_of(request).uow() as uow:
        record = await consent.unsubscribe(uow, claim, token, lifecycle.now())
    return schemas.Unsubscribed.model_validate(
        {
            "channel": claim.channel,
            "opted_out": True,
            "source": record["source"],
            "changed_at": record["changed_at"],
            "detail": "you are unsubscribed: no more email will be sent to you",
        }
    )
