"""Track KPI counts summed in Postgres from the running totals its triggers keep on enrollments."""

from __future__ import annotations

import asyncpg

from leadflow_nurture.domain.kpis import TrackKpis

TOTALS = ("track_totals",)
"""The running totals of this schema (migration 0003)."""


async def track_counts(conn: asyncpg.Connection) -> list[TrackKpis]:
    """The counts of every track anyone was enrolled in, by track name."""
    rows = await conn.fetch(
        "SELECT track, sum(enrolled)::bigint AS enrolled,"
        " coalesce(sum(enrolled) FILTER (WHERE status = 'active'), 0)::bigint AS active,"
        " sum(touches_sent)::bigint AS touches_sent,"
        " sum(touches_skipped)::bigint AS touches_skipped,"
        " sum(engaged)::bigint AS engaged,"
        " coalesce(sum(enrolled) FILTER (WHERE status = 'requalified'), 0)::bigint AS requalified,"
        " coalesce(sum(enrolled) FILTER (WHERE status = 'exhausted'), 0)::bigint AS exhausted,"
        " coalesce(sum(enrolled) FILTER (WHERE exhausted_next = 'archive'), 0)::bigint AS archived,"
        " coalesce(sum(enrolled) FILTER (WHERE exhausted_next = 'move'), 0)::bigint AS moved,"
        " coalesce(sum(enrolled) FILTER (WHERE status = 'unsubscribed'), 0)::bigint AS unsubscribed,"
        " coalesce(sum(enrolled) FILTER (WHERE status = 'converted'), 0)::bigint AS converted"
        " FROM track_totals GROUP BY track HAVING sum(enrolled) <> 0 ORDER BY track"
    )
    return [TrackKpis(**dict(row)) for row in rows]
