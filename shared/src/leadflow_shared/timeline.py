"""GET /v1/leads/{lead_id}/timeline on every service: the dated facts it published about the lead."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from leadflow_shared.bounds import MAX_NAME
from leadflow_shared.http import BEARER_ANSWERS, ReadAccess, answers
from leadflow_shared.pagination import decode_moment_cursor, encode_cursor


class TimelineItem(BaseModel):
    """One dated fact this service published about the lead."""

    at: datetime
    kind: str = Field(description="the event type, e.g. lead.captured, lead.status_changed, nurture.enrolled")
    summary: str
    correlation_id: str
    event_id: UUID


class Timeline(BaseModel):
    """A lead's facts as one service knows them, oldest first; the console merges the four services'."""

    lead_id: UUID
    service: str
    correlation_id: str = Field(description="the lead's journey: the correlation id of its first event")
    started_at: datetime
    items: list[TimelineItem]
    next_cursor: str | None = None


async def read_timeline(
    conn: asyncpg.Connection, lead_id: UUID, after: tuple[datetime, UUID] | None, limit: int
) -> tuple[asyncpg.Record | None, list[asyncpg.Record]]:
    """The lead's journey and a page of its facts after the cursor's position."""
    journey = await conn.fetchrow(
        "SELECT correlation_id, at AS started_at FROM lead_timeline WHERE lead_id = $1"
        " ORDER BY at, event_id LIMIT 1",
        lead_id,
    )
    if journey is None:
        return None, []
    at, position = after if after else (None, None)
    rows = await conn.fetch(
        "SELECT at, kind, summary, correlation_id, event_id FROM lead_timeline WHERE lead_id = $1"
        " AND ($2::timestamptz IS NULL OR (at, event_id) > ($2, $3::uuid)) ORDER BY at, event_id LIMIT $4",
        lead_id,
        at,
        position,
        limit,
    )
    return journey, rows


def timeline_router() -> APIRouter:
    """GET /v1/leads/{lead_id}/timeline, the same on every service."""
    router = APIRouter(prefix="/v1", tags=["timeline"], responses=answers(*BEARER_ANSWERS))

    @router.get("/leads/{lead_id}/timeline", responses=answers(404, 422))
    async def lead_timeline(
        lead_id: UUID,
        request: Request,
        _: ReadAccess,
        limit: Annotated[int, Query(ge=1, le=500)] = 200,
        cursor: Annotated[str | None, Query(max_length=MAX_NAME)] = None,
    ) -> Timeline:
        """The dated facts this service published about the lead, oldest first, with correlation ids."""
        after = decode_moment_cursor(cursor, "timeline")
        async with request.app.state.runtime.pool.acquire() as conn:
            journey, rows = await read_timeline(conn, lead_id, after, limit)
        if journey is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no lead {lead_id} in {request.app.state.service}"
            )
        last = rows[-1] if len(rows) == limit else None
        return Timeline(
            lead_id=lead_id,
            service=request.app.state.service,
            correlation_id=journey["correlation_id"],
            started_at=journey["started_at"],
            items=[
                TimelineItem(
                    at=r["at"],
                    kind=r["kind"],
                    summary=r["summary"],
                    correlation_id=r["correlation_id"],
                    event_id=r["event_id"],
                )
                for r in rows
            ],
            next_cursor=encode_cursor("timeline", last["at"], last["event_id"]) if last else None,
        )

    return router
