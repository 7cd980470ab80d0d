"""HTTP entrypoints of nurture."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, HTTPException, Request, status

from leadflow_nurture.adapters import kpis, views
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.enrollment import EnrollmentStatus
from leadflow_nurture.domain.tracks import InvalidTrackSet, parse_track_set
from leadflow_nurture.entrypoints import schemas
from leadflow_nurture.use_cases import lifecycle
from leadflow_shared import browsing
from leadflow_shared.http import BEARER_ANSWERS, AdminAccess, ReadAccess, TextFilter, WriteAccess, answers
from leadflow_shared.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["nurture"], responses=answers(*BEARER_ANSWERS))


def _store(request: Request) -> TrackStore:
    store: TrackStore = runtime_of(request).definition.state["tracks"]
    return store


@router.get("/tracks")
async def get_tracks(request: Request, _: AdminAccess) -> schemas.Tracks:
    """The tracks in force, in matching order, each with its version."""
    async with runtime_of(request).pool.acquire() as conn:
        tracks = await _store(request).current(conn)
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
    response_model=schemas.LeadOverview,
    response_model_exclude_unset=True,
    responses=answers(404, 422),
)
async def get_lead(lead_id: UUID, request: Request, _: ReadAccess) -> dict[str, Any]:
    """What nurture knows of a lead: status, enrollments, touches sent and due, engagement, archive."""
    async with runtime_of(request).pool.acquire() as conn:
        view = await views.lead_overview(conn, lead_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lead {lead_id}")
    return view


@router.post("/leads/{lead_id}/archive/reverse", response_model=schemas.Archive, responses=answers(404, 422))
async def reverse_archive(lead_id: UUID, request: Request, _: WriteAccess) -> dict[str, Any]:
    """Reverse an archive: qualification gets lead.requalification_requested ("archive reversed")."""
    async with runtime_of(request).uow() as uow:
        reversed_archive = await lifecycle.reverse_archive(uow, lead_id)
    if reversed_archive is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"lead {lead_id} has no archive to reverse")
    return reversed_archive


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
) -> Any:
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
    return browsing.respond(found, as_csv, ENROLLMENT_CSV)


@router.get("/kpis/tracks", response_model=schemas.TrackKpiList)
async def track_kpis(request: Request, _: ReadAccess) -> dict[str, Any]:
    """Per track: enrolled, active, touches sent, engagement and requalified rates, exhausted, archived."""
    async with runtime_of(request).pool.acquire() as conn:
        counts = await kpis.track_counts(conn)
    return {
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
