"""SQL for what the API shows of nurture: a lead's overview and pages of enrollments."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from leadflow_nurture.adapters import suppressions
from leadflow_nurture.adapters.leads import lead_view
from leadflow_nurture.domain.enrollment import EnrollmentStatus
from leadflow_shared import browsing
from leadflow_shared.contracts.lead import ContactChannel

_ENROLLMENT_COLUMNS = (
    "id, lead_id, track, track_version, source, status, started_at, engagement_points, last_engaged_at,"
    " touches_sent, touches_skipped, last_touch_at, ended_at, end_reason, exhausted_next, next_track"
)


async def lead_overview(conn: asyncpg.Connection, lead_id: UUID) -> dict[str, Any] | None:
    """A lead's status, enrollments, touches, engagement, archive and consent; None when nothing is known."""
    lead = await lead_view(conn, lead_id)
    enrollments = await conn.fetch(
        f"SELECT {_ENROLLMENT_COLUMNS} FROM enrollments WHERE lead_id = $1 ORDER BY seq", lead_id
    )
    touches = await conn.fetch(
        "SELECT enrollment_id, step, channel, content_ref, due_at, status, attempts, done_at, failure,"
        " last_error FROM touches WHERE lead_id = $1 ORDER BY id",
        lead_id,
    )
    archive = await conn.fetchrow("SELECT * FROM archives WHERE lead_id = $1", lead_id)
    consent = await conn.fetch(
        "SELECT channel, opted_in, reason, changed_at FROM consent WHERE lead_id = $1", lead_id
    )
    if lead is None and not enrollments and archive is None:
        return None
    view = lead or {"id": lead_id, "status": None, "profile": None}
    view["enrollments"] = [dict(row) for row in enrollments]
    view["touches_sent"] = [dict(t) for t in touches if t["status"] == "sent"]
    view["touches_due"] = [dict(t) for t in touches if t["status"] == "due"]
    view["touches_skipped"] = [dict(t) for t in touches if t["status"] not in ("sent", "due", "failed")]
    view["touches_failed"] = [dict(t) for t in touches if t["status"] == "failed"]
    active = next((e for e in enrollments if e["status"] == EnrollmentStatus.ACTIVE.value), None)
    view["engagement"] = {
        "points": active["engagement_points"] if active else 0,
        "total_points": sum(e["engagement_points"] for e in enrollments),
        "last_engaged_at": max(
            (e["last_engaged_at"] for e in enrollments if e["last_engaged_at"]), default=None
        ),
    }
    view["archive"] = dict(archive) if archive else None
    view["consent"] = [dict(row) for row in consent]
    return view


ENROLLMENT_SORTS = browsing.Sorting(
    {
        "enrolled": browsing.SortKey("e.seq", "sequence"),
        "started_at": browsing.SortKey("e.started_at", "moment"),
        "engagement_points": browsing.SortKey("e.engagement_points::bigint", "integer"),
        "touches_sent": browsing.SortKey("e.touches_sent::bigint", "integer"),
    },
    default="enrolled",
    id_column="e.id",
)
ENROLLMENT_SEARCHED = [
    "e.track",
    *(f"l.profile->>'{field}'" for field in ("first_name", "last_name", "email", "company")),
]


async def enrollments_page(
    conn: asyncpg.Connection,
    *,
    track: str | None,
    status: EnrollmentStatus | None,
    q: str | None = None,
    sort: str = "enrolled",
    cursor: str | None = None,
    limit: int,
) -> browsing.Page:
    """Enrollments by track, status and text (track, the lead's name, email, company), sorted (in the order
    they began unless asked otherwise), after a keyset cursor."""
    query = browsing.new_query()
    if track is not None:
        query.add("e.track = {0}", track)
    if status is not None:
        query.add("e.status = {0}", status.value)
    browsing.search(query, q, ENROLLMENT_SEARCHED)
    columns = ", ".join(f"e.{c.strip()}" for c in _ENROLLMENT_COLUMNS.split(","))
    return await browsing.fetch_page(
        conn,
        columns=f"{columns}, l.profile->>'email' AS email, l.profile->>'company' AS company",
        source="enrollments e LEFT JOIN leads l ON l.id = e.lead_id",
        query=query,
        sorting=ENROLLMENT_SORTS,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


async def consent_view(conn: asyncpg.Connection, lead_id: UUID) -> dict[str, Any] | None:
    """The lead's consent on every channel and whether its address is suppressed; None when nothing is known.

    A channel without a consent record shows what the lead's profile says (source `profile`), if anything.
    """
    lead = await lead_view(conn, lead_id)
    rows = await conn.fetch(
        "SELECT channel, opted_in, reason, source, proof, changed_at FROM consent WHERE lead_id = $1", lead_id
    )
    if lead is None and not rows:
        return None
    profile = (lead or {}).get("profile") or {}
    recorded = {row["channel"]: dict(row) for row in rows}
    channels = []
    for channel in ContactChannel:
        said = (profile.get("consent") or {}).get(channel.value)
        channels.append(
            recorded.get(channel.value)
            or {
                "channel": channel.value,
                "opted_in": said,
                "source": None if said is None else "profile",
                "reason": None,
                "proof": None,
                "changed_at": None,
            }
        )
    email = profile.get("email")
    entry = await suppressions.entry(conn, email) if isinstance(email, str) and email else None
    return {"lead_id": lead_id, "channels": channels, "suppression": dict(entry) if entry else None}
