"""SQL for the qualification schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from leadflow_qualification.domain.decision import Decision
from leadflow_qualification.domain.facts import Activity, SalesInput
from leadflow_shared.contracts.lead import LeadProfile, Touch

Conn: TypeAlias = asyncpg.Connection

LEAD_COLUMNS = (
    "id, status, category, profile, touch, owner, team, sales_input, manual_override, merged_into,"
    " fit_score, engagement_score"
)


@dataclass
class LeadRow:
    """The parts of a lead qualification works with."""

    id: UUID
    status: str
    category: str
    profile: LeadProfile
    touch: Touch | None
    owner: str | None
    team: str | None
    sales_input: SalesInput
    manual_override: bool
    merged_into: UUID | None
    fit_score: float
    engagement_score: float

    @classmethod
    def of(cls, row: asyncpg.Record) -> LeadRow:
        """A lead from a row selected with LEAD_COLUMNS."""
        return cls(
            id=row["id"],
            status=row["status"],
            category=row["category"],
            profile=LeadProfile.model_validate(row["profile"]),
            touch=Touch.model_validate(row["touch"]) if row["touch"] else None,
            owner=row["owner"],
            team=row["team"],
            sales_input=SalesInput.model_validate(row["sales_input"] or {}),
            manual_override=row["manual_override"],
            merged_into=row["merged_into"],
            fit_score=row["fit_score"] or 0.0,
            engagement_score=row["engagement_score"] or 0.0,
        )


async def insert_lead(
    conn: Conn, lead_id: UUID, status: str, category: str, profile: LeadProfile, touch: Touch | None
) -> bool:
    """Store a new lead with its first status; answer False when it was known already."""
    result = await conn.execute(
        "INSERT INTO leads (id, status, category, profile, touch) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (id) DO NOTHING",
        lead_id,
        status,
        category,
        profile.model_dump(mode="json"),
        touch.model_dump(mode="json") if touch else None,
    )
    return bool(result.endswith(" 1"))


async def lock_lead(conn: Conn, lead_id: UUID) -> LeadRow | None:
    """The lead, locked for this transaction."""
    row = await conn.fetchrow(f"SELECT {LEAD_COLUMNS} FROM leads WHERE id = $1 FOR UPDATE", lead_id)
    return LeadRow.of(row) if row else None


async def update_profile(conn: Conn, lead_id: UUID, profile: LeadProfile) -> LeadRow | None:
    """Keep the lead's profile current; answer the locked lead."""
    row = await conn.fetchrow(
        f"UPDATE leads SET profile = $2, updated_at = now() WHERE id = $1 RETURNING {LEAD_COLUMNS}",
        lead_id,
        profile.model_dump(mode="json"),
    )
    return LeadRow.of(row) if row else None


async def set_sales_input(conn: Conn, lead_id: UUID, sales: SalesInput) -> None:
    """Store what sales learned; reporting on a lead is progress."""
    await conn.execute(
        "UPDATE leads SET sales_input = $2, last_progress_at = now(), stale = false, stale_since = NULL,"
        " updated_at = now() WHERE id = $1",
        lead_id,
        sales.model_dump(mode="json"),
    )


async def set_override(conn: Conn, lead_id: UUID, override: bool) -> None:
    """Mark (or clear) a person's qualify/disqualify override."""
    await conn.execute("UPDATE leads SET manual_override = $2 WHERE id = $1", lead_id, override)


async def mark_merged(conn: Conn, lead_id: UUID, survivor: UUID) -> None:
    """The lead folded into the survivor."""
    await conn.execute(
        "UPDATE leads SET merged_into = $2, stale = false, updated_at = now() WHERE id = $1",
        lead_id,
        survivor,
    )


async def insert_merged_tombstone(conn: Conn, lead_id: UUID, survivor: UUID, profile: LeadProfile) -> None:
    """A merged lead never seen before: keep it archived so a late capture changes nothing."""
    await conn.execute(
        "INSERT INTO leads (id, status, category, profile, merged_into)"
        " VALUES ($1, 'archived', 'archived', $2, $3)"
        " ON CONFLICT (id) DO NOTHING",
        lead_id,
        profile.model_dump(mode="json"),
        survivor,
    )


async def fold_activities(conn: Conn, merged: UUID, survivor: UUID) -> None:
    """Move the merged lead's activities to the survivor."""
    await conn.execute(
        "WITH moved AS (DELETE FROM activities WHERE lead_id = $1"
        " RETURNING activity_id, activity_type, occurred_at, trigger)"
        " INSERT INTO activities (lead_id, activity_id, activity_type, occurred_at, trigger)"
        " SELECT $2, activity_id, activity_type, occurred_at, trigger FROM moved ON CONFLICT DO NOTHING",
        merged,
        survivor,
    )


async def insert_activity(conn: Conn, lead_id: UUID, activity_id: str, activity: Activity) -> bool:
    """Store one activity; answer False when it was known already."""
    result = await conn.execute(
        "INSERT INTO activities (lead_id, activity_id, activity_type, occurred_at, trigger)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        lead_id,
        activity_id,
        activity.activity_type.value,
        activity.occurred_at,
        activity.trigger.value if activity.trigger else None,
    )
    return bool(result.endswith(" 1"))


def _activity(row: asyncpg.Record) -> Activity:
    return Activity.model_validate(
        {"activity_type": row["activity_type"], "occurred_at": row["occurred_at"], "trigger": row["trigger"]}
    )


async def activities(conn: Conn, lead_id: UUID) -> list[Activity]:
    """Every activity of one lead."""
    rows = await conn.fetch(
        "SELECT activity_type, occurred_at, trigger FROM activities WHERE lead_id = $1", lead_id
    )
    return [_activity(r) for r in rows]


async def activities_of(conn: Conn, lead_ids: list[UUID]) -> dict[UUID, list[Activity]]:
    """The activities of many leads in one query."""
    rows = await conn.fetch(
        "SELECT lead_id, activity_type, occurred_at, trigger FROM activities WHERE lead_id = ANY($1::uuid[])",
        lead_ids,
    )
    found: dict[UUID, list[Activity]] = {}
    for row in rows:
        found.setdefault(row["lead_id"], []).append(_activity(row))
    return found


async def record_decision(conn: Conn, lead_id: UUID, decision: Decision, cause: str, progress: bool) -> None:
    """Keep the decision with every condition, and the lead's latest scores."""
    body = decision.model_dump(mode="json")
    await conn.execute(
        "WITH d AS (INSERT INTO decisions"
        " (lead_id, criteria_version, outcome, reason, fit_score, engagement_score, cause, body)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8))"
        " UPDATE leads SET decision = $8, criteria_version = $2, fit_score = $5, engagement_score = $6,"
        " updated_at = now(),"
        " last_progress_at = CASE WHEN $9 THEN now() ELSE last_progress_at END,"
        " stale = stale AND NOT $9, stale_since = CASE WHEN $9 THEN NULL ELSE stale_since END"
        " WHERE id = $1",
        lead_id,
        decision.criteria_version,
        decision.outcome.value,
        decision.reason.value if decision.reason else None,
        decision.fit_score,
        decision.engagement_score,
        cause,
        body,
        progress,
    )


async def change_status(
    conn: Conn,
    lead_id: UUID,
    from_status: str | None,
    to_status: str,
    category: str,
    reason: str,
    reason_code: str | None,
    actor: str,
) -> None:
    """Move the lead and keep the change in its history, in one statement."""
    await conn.execute(
        "WITH u AS (UPDATE leads SET status = $3, category = $4, status_since = now(),"
        " last_progress_at = now(),"
        " stale = false, stale_since = NULL, updated_at = now(),"
        " disqualification_reason = CASE WHEN $4 IN ('nurturing', 'archived', 'unqualified') THEN"
        " coalesce($6, disqualification_reason) ELSE NULL END"
        " WHERE id = $1)"
        " INSERT INTO status_history (lead_id, from_status, to_status, category, reason, reason_code, actor)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        lead_id,
        from_status,
        to_status,
        category,
        reason,
        reason_code,
        actor,
    )


async def add_history(
    conn: Conn,
    lead_id: UUID,
    from_status: str | None,
    to_status: str,
    category: str,
    reason: str,
    actor: str,
    reason_code: str | None = None,
) -> None:
    """Keep one status change in the history."""
    await conn.execute(
        "INSERT INTO status_history (lead_id, from_status, to_status, category, reason, reason_code, actor)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        lead_id,
        from_status,
        to_status,
        category,
        reason,
        reason_code,
        actor,
    )


async def set_owner(conn: Conn, lead_id: UUID, owner: str | None, team: str) -> None:
    """Give the lead its team and owner."""
    await conn.execute("UPDATE leads SET owner = $2, team = $3 WHERE id = $1", lead_id, owner, team)


async def lock_team_cursor(conn: Conn, team: str) -> int | None:
    """The index of the member who got the team's last lead, locked until commit (None: nobody yet)."""
    value: int = await conn.fetchval(
        "INSERT INTO assignment_state (team, last_index) VALUES ($1, -1)"
        " ON CONFLICT (team) DO UPDATE SET last_index = assignment_state.last_index RETURNING last_index",
        team,
    )
    return None if value < 0 else value


async def save_team_cursor(conn: Conn, team: str, index: int) -> None:
    """Remember who got the team's last lead."""
    await conn.execute("UPDATE assignment_state SET last_index = $2 WHERE team = $1", team, index)


async def open_leads_per_owner(conn: Conn, team: str) -> dict[str, int]:
    """How many open or contacted leads each member of the team holds."""
    rows = await conn.fetch(
        "SELECT owner, count(*) AS n FROM leads WHERE team = $1 AND category IN ('open', 'contacted')"
        " AND owner IS NOT NULL GROUP BY owner",
        team,
    )
    return {r["owner"]: r["n"] for r in rows}


async def lead_view(conn: Conn, lead_id: UUID) -> dict[str, Any] | None:
    """A lead's status, scores, latest decision and history for the API."""
    lead = await conn.fetchrow(
        "SELECT id, status, category, profile, touch, owner, team, fit_score, engagement_score,"
        " criteria_version, decision, sales_input, manual_override, disqualification_reason, stale,"
        " stale_since, merged_into, status_since, last_progress_at, created_at, updated_at"
        " FROM leads WHERE id = $1",
        lead_id,
    )
    if lead is None:
        return None
    history = await conn.fetch(
        "SELECT from_status, to_status, category, reason, reason_code, actor, at FROM status_history"
        " WHERE lead_id = $1 ORDER BY id",
        lead_id,
    )
    return {**dict(lead), "history": [dict(h) for h in history]}


async def list_leads(
    conn: Conn,
    status: str | None,
    owner: str | None,
    stale: bool | None,
    after: UUID | None,
    limit: int,
) -> list[dict[str, Any]]:
    """One page of leads, in id order after the cursor."""
    rows = await conn.fetch(
        "SELECT id, status, category, owner, team, fit_score, engagement_score, stale, stale_since,"
        " disqualification_reason, status_since, profile->>'email' AS email, profile->>'company' AS company"
        " FROM leads WHERE merged_into IS NULL"
        " AND ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR owner = $2)"
        " AND ($3::boolean IS NULL OR stale = $3) AND ($4::uuid IS NULL OR id > $4)"
        " ORDER BY id LIMIT $5",
        status,
        owner,
        stale,
        after,
        limit,
    )
    return [dict(r) for r in rows]


async def leads_in_categories(
    conn: Conn, categories: list[str], after: UUID | None, limit: int
) -> list[LeadRow]:
    """A page of unmerged leads in the given categories, in id order."""
    rows = await conn.fetch(
        f"SELECT {LEAD_COLUMNS} FROM leads WHERE merged_into IS NULL AND category = ANY($1::text[])"
        " AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
        categories,
        after,
        limit,
    )
    return [LeadRow.of(r) for r in rows]


async def flag_stale(conn: Conn, category: str, idle_s: float) -> int:
    """Flag the leads of a category idle longer than idle_s; answer how many were newly flagged."""
    result = await conn.execute(
        "UPDATE leads SET stale = true, stale_since = now() WHERE category = $1 AND merged_into IS NULL"
        " AND NOT stale AND last_progress_at < now() - make_interval(secs => $2)",
        category,
        idle_s,
    )
    return int(result.split()[-1])


async def unresponsive_leads(conn: Conn, category: str, idle_s: float, limit: int) -> list[LeadRow]:
    """Leads of a category idle longer than idle_s, locked (skipping those another worker holds)."""
    rows = await conn.fetch(
        f"SELECT {LEAD_COLUMNS} FROM leads WHERE category = $1 AND merged_into IS NULL"
        " AND last_progress_at < now() - make_interval(secs => $2)"
        " ORDER BY last_progress_at LIMIT $3 FOR UPDATE SKIP LOCKED",
        category,
        idle_s,
        limit,
    )
    return [LeadRow.of(r) for r in rows]


async def funnel_rows(conn: Conn, start: datetime, end: datetime) -> list[asyncpg.Record]:
    """Every status change of the leads created in [start, end), with their attribution."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT h.lead_id, h.from_status, h.to_status, h.category, h.at, h.reason_code,"
        " l.touch->>'source_system' AS source_system,"
        " coalesce(l.touch->'campaign'->>'utm_campaign', l.touch->'campaign'->>'campaign_name') AS campaign,"
        " l.owner FROM leads l JOIN status_history h ON h.lead_id = l.id"
        " WHERE l.created_at >= $1 AND l.created_at < $2 AND l.merged_into IS NULL ORDER BY h.id",
        start,
        end,
    )
    return rows


async def latest_configs(conn: Conn) -> list[asyncpg.Record]:
    """The newest version of each kind of configuration."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT DISTINCT ON (kind) kind, version, body FROM config_versions ORDER BY kind, version DESC"
    )
    return rows


async def store_config(conn: Conn, kind: str, version: int, body: dict[str, Any], actor: str) -> None:
    """Store one new configuration version."""
    await conn.execute(
        "INSERT INTO config_versions (kind, version, body, actor) VALUES ($1, $2, $3, $4)",
        kind,
        version,
        body,
        actor,
    )


async def lock_config(conn: Conn, kind: str) -> int | None:
    """Serialise writers of one kind of configuration; answer its newest stored version."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('qualification-config:' || $1))", kind)
    version: int | None = await conn.fetchval(
        "SELECT max(version) FROM config_versions WHERE kind = $1", kind
    )
    return version
