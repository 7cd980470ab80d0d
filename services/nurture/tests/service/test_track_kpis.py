"""Track KPIs summed from the running totals match a count over every enrollment, folded or not."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

import pytest

from leadflow_nurture.adapters import kpis
from leadflow_shared.totals import fold
from leadflow_shared.uow import UnitOfWorkFactory

pytestmark = pytest.mark.service

EVERY_ENROLLMENT = (
    "SELECT track, count(*) AS enrolled, count(*) FILTER (WHERE status = 'active') AS active,"
    " coalesce(sum(touches_sent), 0) AS touches_sent, coalesce(sum(touches_skipped), 0) AS touches_skipped,"
    " count(last_engaged_at) AS engaged, count(*) FILTER (WHERE status = 'requalified') AS requalified,"
    " count(*) FILTER (WHERE status = 'exhausted') AS exhausted,"
    " count(*) FILTER (WHERE exhausted_next = 'archive') AS archived,"
    " count(*) FILTER (WHERE exhausted_next = 'move') AS moved,"
    " count(*) FILTER (WHERE status = 'unsubscribed') AS unsubscribed,"
    " count(*) FILTER (WHERE status = 'converted') AS converted"
    " FROM enrollments GROUP BY track ORDER BY track"
)


async def test_track_kpis_follow_enrolments_touches_endings_and_folds(uows: UnitOfWorkFactory) -> None:
    async with uows.pool.acquire() as conn:

        async def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            counted = [dict(row) for row in await conn.fetch(EVERY_ENROLLMENT)]
            return [asdict(track) for track in await kpis.track_counts(conn)], counted

        await conn.execute(
            "INSERT INTO enrollments (id, lead_id, track, track_version, source, started_at)"
            " SELECT gen_random_uuid(), gen_random_uuid(), track, 1, 'disqualified', now()"
            " FROM unnest(ARRAY['budget-drip', 'budget-drip', 'budget-drip', 'webinar', 'win-back']) AS track"
        )
        await conn.execute(
            "UPDATE enrollments SET touches_sent = touches_sent + 2, touches_skipped = 1"
            " WHERE track = 'budget-drip'"
        )
        ada, bob = await conn.fetch("SELECT id FROM enrollments WHERE track = 'budget-drip' LIMIT 2")
        await conn.execute("UPDATE enrollments SET last_engaged_at = now() WHERE id = $1", ada["id"])
        await conn.execute("UPDATE enrollments SET status = 'requalified' WHERE id = $1", ada["id"])
        await conn.execute(
            "UPDATE enrollments SET status = 'exhausted', exhausted_next = 'archive' WHERE id = $1", bob["id"]
        )
        await conn.execute("DELETE FROM enrollments WHERE track = 'win-back'")
        ours, counted = await both()

        assert ours == counted
        assert [(t["track"], t["enrolled"], t["touches_sent"]) for t in ours] == [
            ("budget-drip", 3, 6),
            ("webinar", 1, 0),
        ]
        assert await fold(conn, kpis.TOTALS) > 0
        assert await conn.fetchval("SELECT count(*) FROM track_totals WHERE NOT folded") == 0
        assert await both() == (ours, counted)

        await conn.execute(
            "INSERT INTO enrollments (id, lead_id, track, track_version, source, started_at)"
            " VALUES ($1, $2, 'webinar', 1, 'disqualified', now())",
            uuid.uuid4(),
            uuid.uuid4(),
        )
        ours, counted = await both()
        assert ours == counted
        assert ours[1]["enrolled"] == 2

        await conn.execute("TRUNCATE touches, enrollments")
        assert await both() == ([], [])
