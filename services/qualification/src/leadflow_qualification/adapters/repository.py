"""SQL for the qualification schema."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias
from uuid import UUID

import asyncpg

from leadflow_qualification.domain.decision import Decision
from leadflow_qualification.domain.facts import Activity, SalesInput
from leadflow_shared import browsing
from leadflow_shared.contracts.lead import LeadProfile, Touch

Conn: TypeAlias = asyncpg.Connection

LEAD_COLUMNS = (
    "id, status, category, profile, touch, owner, team, sales_input, manual_override, merged_into,"
    " fit_score, engagement_score"
)
# A lead whose profile was just written: only what jsonb may have reshaped is read back (see `stored`).
_WRITTEN_LEAD_COLUMNS = (
    "id, status, category, profile->'custom_fields' AS custom_fields, touch, owner, team, sales_input,"
    " manual_override, merged_into, fit_score, engagement_score"
)
_NO_SALES_INPUT = SalesInput()


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
        return cls.with_profile(row, LeadProfile.model_validate(row["profile"]))

    @classmethod
    def with_profile(cls, row: asyncpg.Record, profile: LeadProfile, touch: Touch | None = None) -> LeadRow:
        """A lead from a row and its profile, known already; the touch too when given, else read."""
        if touch is None and row["touch"]:
            touch = Touch.model_validate(row["touch"])
        sales_input = row["sales_input"]
        return cls(
            id=row["id"],
            status=row["status"],
            category=row["category"],
            profile=profile,
            touch=touch,
            owner=row["owner"],
            team=row["team"],
            sales_input=SalesInput.model_validate(sales_input) if sales_input else _NO_SALES_INPUT,
            manual_override=row["manual_override"],
            merged_into=row["merged_into"],
            fit_score=row["fit_score"] or 0.0,
            engagement_score=row["engagement_score"] or 0.0,
        )


def stored(profile: LeadProfile, custom_fields: dict[str, Any] | None) -> LeadProfile:
    """The profile as reading back its row would give it, from the row's `custom_fields` alone.

    Every other field is a string, a number or a flag that JSON keeps as it is; the raw custom fields
    come back in jsonb's key order (and a float with an integral value may come back as an integer).
    """
    if not profile.custom_fields:
        return profile
    return profile.model_copy(update={"custom_fields": custom_fields})


class NewLead(NamedTuple):
    """A lead to store with its first status."""

    id: UUID
    status: str
    category: str
    profile: LeadProfile
    touch: Touch | None


async def insert_lead(
    conn: Conn, lead_id: UUID, status: str, category: str, profile: LeadProfile, touch: Touch | None
) -> bool:
    """Store a new lead with its first status; answer False when it was known already."""
    return bool(await insert_leads(conn, [NewLead(lead_id, status, category, profile, touch)]))


# Models go to jsonb columns as the JSON text pydantic writes (the same bytes as orjson writes of their
# dump), cast in SQL: no dict is built only to be encoded again, element by element, by the jsonb codec.


async def insert_leads(conn: Conn, leads: Sequence[NewLead]) -> list[LeadRow]:
    """Store new leads in one statement; answer those created (the others were known already)."""
    rows = await conn.fetch(
        "INSERT INTO leads (id, status, category, profile, touch)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]::jsonb[], $5::text[]::jsonb[])"
        f" ON CONFLICT (id) DO NOTHING RETURNING {_WRITTEN_LEAD_COLUMNS}",
        [lead.id for lead in leads],
        [lead.status for lead in leads],
        [lead.category for lead in leads],
        [lead.profile.model_dump_json() for lead in leads],
        [lead.touch.model_dump_json() if lead.touch else None for lead in leads],
    )
    given: dict[UUID, NewLead] = {}
    for lead in leads:
        given.setdefault(lead.id, lead)  # of one id given twice, the first is inserted
    return [
        LeadRow.with_profile(
            row, stored(given[row["id"]].profile, row["custom_fields"]), given[row["id"]].touch
        )
        for row in rows
    ]


async def lock_lead(conn: Conn, lead_id: UUID) -> LeadRow | None:
    """The lead, locked for this transaction."""
    row = await conn.fetchrow(f"SELECT {LEAD_COLUMNS} FROM leads WHERE id = $1 FOR UPDATE", lead_id)
    return LeadRow.of(row) if row else None


async def lock_leads(conn: Conn, lead_ids: Sequence[UUID]) -> list[LeadRow]:
    """The leads found among `lead_ids`, locked for this transaction in id order."""
    rows = await conn.fetch(
        f"SELECT {LEAD_COLUMNS} FROM leads WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", lead_ids
    )
    return [LeadRow.of(row) for row in rows]


async def update_profile(conn: Conn, lead_id: UUID, profile: LeadProfile) -> LeadRow | None:
    """Keep the lead's profile current; answer the locked lead."""
    found = await update_profiles(conn, [(lead_id, profile)])
    return found[0] if found else None


async def update_profiles(conn: Conn, profiles: Sequence[tuple[UUID, LeadProfile]]) -> list[LeadRow]:
    """Keep many leads' profiles current in one statement; answer the leads found, locked."""
    # Here and below, `id = ANY($1)` has the leads looked up by primary key: joined to the list alone, a
    # planner that expects many rows (or has no statistics yet) may hash the whole table for each batch.
    rows = await conn.fetch(
        "UPDATE leads SET profile = p.new_profile, updated_at = now()"
        " FROM unnest($1::uuid[], $2::text[]::jsonb[]) WITH ORDINALITY AS p(lead_id, new_profile, i)"
        f" WHERE id = ANY($1::uuid[]) AND id = p.lead_id RETURNING p.i, {_WRITTEN_LEAD_COLUMNS}",
        [lead_id for lead_id, _ in profiles],
        [profile.model_dump_json() for _, profile in profiles],
    )
    return [
        LeadRow.with_profile(row, stored(profiles[row["i"] - 1][1], row["custom_fields"])) for row in rows
    ]


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
    await set_overrides(conn, [lead_id], override)


async def set_overrides(conn: Conn, lead_ids: Sequence[UUID], override: bool) -> None:
    """Mark (or clear) the override of many leads in one statement."""
    await conn.execute("UPDATE leads SET manual_override = $2 WHERE id = ANY($1::uuid[])", lead_ids, override)


async def mark_merged(conn: Conn, lead_id: UUID, survivor: UUID) -> None:
    """The lead folded into the survivor."""
    await conn.execute(
        "UPDATE leads SET merged_into = $2, stale = false, updated_at = now() WHERE id = $1",
        lead_id,
        survivor,
    )


async def unmark_merged(conn: Conn, lead_id: UUID) -> None:
    """The lead is its own again: a merge was undone."""
    await conn.execute("UPDATE leads SET merged_into = NULL, updated_at = now() WHERE id = $1", lead_id)


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


async def fold_activities(
    conn: Conn, merged: UUID, survivor: UUID, only: Sequence[str] | None = None
) -> None:
    """Move one lead's activities (`only` these ids, if given) to another: on a merge, back on an unmerge."""
    await conn.execute(
        "WITH moved AS (DELETE FROM activities WHERE lead_id = $1"
        " AND ($3::text[] IS NULL OR activity_id = ANY($3::text[]))"
        " RETURNING activity_id, activity_type, occurred_at, trigger)"
        " INSERT INTO activities (lead_id, activity_id, activity_type, occurred_at, trigger)"
        " SELECT $2, activity_id, activity_type, occurred_at, trigger FROM moved ON CONFLICT DO NOTHING",
        merged,
        survivor,
        None if only is None else list(only),
    )


async def insert_activity(conn: Conn, lead_id: UUID, activity_id: str, activity: Activity) -> bool:
    """Store one activity; answer False when it was known already."""
    return bool(await insert_activities(conn, [(lead_id, activity_id, activity)]))


async def insert_activities(
    conn: Conn, activities: Sequence[tuple[UUID, str, Activity]]
) -> set[tuple[UUID, str]]:
    """Store many activities in one statement; answer the (lead, activity id) pairs that were new."""
    rows = await conn.fetch(
        "INSERT INTO activities (lead_id, activity_id, activity_type, occurred_at, trigger)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])"
        " ON CONFLICT DO NOTHING RETURNING lead_id, activity_id",
        [lead_id for lead_id, _, _ in activities],
        [activity_id for _, activity_id, _ in activities],
        [a.activity_type.value for _, _, a in activities],
        [a.occurred_at for _, _, a in activities],
        [a.trigger.value if a.trigger else None for _, _, a in activities],
    )
    return {(row["lead_id"], row["activity_id"]) for row in rows}


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


class DecisionMade(NamedTuple):
    """A decision to keep, with what caused it and whether it counts as progress."""

    lead_id: UUID
    decision: Decision
    cause: str
    progress: bool


async def record_decisions(conn: Conn, made: Sequence[DecisionMade]) -> None:
    """Keep many decisions in order, and each lead's latest scores, in one statement."""
    await write_judgements(conn, made, [])


class StatusChange(NamedTuple):
    """One row of a lead's status history; `moves` when the lead itself goes to that status with it."""

    lead_id: UUID
    from_status: str | None
    to_status: str
    category: str
    reason: str
    reason_code: str | None
    actor: str
    moves: bool = True


_DISQUALIFIED = frozenset({"nurturing", "archived", "unqualified"})


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
    await change_statuses(
        conn,
        [StatusChange(lead_id, from_status, to_status, category, reason, reason_code, actor, moves=False)],
    )


async def change_statuses(conn: Conn, changes: Sequence[StatusChange]) -> None:
    """Many status changes in one statement: every history row in order, each lead at its last status."""
    await write_judgements(conn, [], changes)


async def write_judgements(conn: Conn, made: Sequence[DecisionMade], changes: Sequence[StatusChange]) -> None:
    """Decisions and status changes of many leads in one statement, each lead's row updated once.

    Every decision and history row is kept in order. A lead decided more than once ends with its last
    decision, and with progress if any was progress; a lead that moves ends at its last status, and its
    disqualification reason follows the moves in turn: a disqualifying status takes the move's reason code
    (or keeps the one it had), any other status clears it.
    """
    if not made and not changes:
        return
    final: dict[UUID, tuple[str, str, bool, str | None]] = {}
    for change in changes:
        if not change.moves:
            continue
        keep, code = final[change.lead_id][2:] if change.lead_id in final else (True, None)
        if change.category not in _DISQUALIFIED:
            keep, code = False, None
        elif change.reason_code is not None:
            keep, code = False, change.reason_code
        final[change.lead_id] = (change.to_status, change.category, keep, code)
    await conn.execute(
        _WRITE_JUDGEMENTS,
        [m.lead_id for m in made],
        [m.decision.criteria_version for m in made],
        [m.decision.outcome.value for m in made],
        [m.decision.reason.value if m.decision.reason else None for m in made],
        [m.decision.fit_score for m in made],
        [m.decision.engagement_score for m in made],
        [m.cause for m in made],
        [m.decision.model_dump_json() for m in made],
        [m.progress for m in made],
        [c.lead_id for c in changes],
        [c.from_status for c in changes],
        [c.to_status for c in changes],
        [c.category for c in changes],
        [c.reason for c in changes],
        [c.reason_code for c in changes],
        [c.actor for c in changes],
        list(final),
        [f[0] for f in final.values()],
        [f[1] for f in final.values()],
        [f[2] for f in final.values()],
        [f[3] for f in final.values()],
    )


# $1-$9: the decisions in order; $10-$16: the history rows in order; $17-$21: each moving lead's last status.
# Deciding and moving a lead in one UPDATE writes its (large, many times indexed) row once, not twice.
_WRITE_JUDGEMENTS = """
WITH n AS (
    SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::real[], $6::real[], $7::text[],
                         $8::text[]::jsonb[], $9::boolean[]) WITH ORDINALITY
        AS n(lead_id, criteria_version, outcome, reason, fit_score, engagement_score, cause, body, progress,
             i)
), d AS (
    INSERT INTO decisions
        (lead_id, criteria_version, outcome, reason, fit_score, engagement_score, cause, body)
    SELECT lead_id, criteria_version, outcome, reason, fit_score, engagement_score, cause, body
    FROM n ORDER BY i
), h AS (
    INSERT INTO status_history (lead_id, from_status, to_status, category, reason, reason_code, actor)
    SELECT lead_id, from_status, to_status, category, reason, reason_code, actor
    FROM unnest($10::uuid[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
        WITH ORDINALITY AS h(lead_id, from_status, to_status, category, reason, reason_code, actor, i)
    ORDER BY i
), last AS (
    SELECT DISTINCT ON (lead_id) *, bool_or(progress) OVER (PARTITION BY lead_id) AS moved
    FROM n ORDER BY lead_id, i DESC
), j AS (
    SELECT coalesce(last.lead_id, f.id) AS id, last.lead_id IS NOT NULL AS decided, last.criteria_version,
           last.fit_score, last.engagement_score, last.body, coalesce(last.moved, false) AS moved,
           f.id IS NOT NULL AS moves, f.status, f.category, f.keep, f.code
    FROM last FULL JOIN unnest($17::uuid[], $18::text[], $19::text[], $20::boolean[], $21::text[])
        AS f(id, status, category, keep, code) ON f.id = last.lead_id
)
UPDATE leads SET
    decision = CASE WHEN j.decided THEN j.body ELSE leads.decision END,
    criteria_version = CASE WHEN j.decided THEN j.criteria_version ELSE leads.criteria_version END,
    fit_score = CASE WHEN j.decided THEN j.fit_score ELSE leads.fit_score END,
    engagement_score = CASE WHEN j.decided THEN j.engagement_score ELSE leads.engagement_score END,
    status = CASE WHEN j.moves THEN j.status ELSE leads.status END,
    category = CASE WHEN j.moves THEN j.category ELSE leads.category END,
    status_since = CASE WHEN j.moves THEN now() ELSE leads.status_since END,
    last_progress_at = CASE WHEN j.moves OR j.moved THEN now() ELSE leads.last_progress_at END,
    stale = CASE WHEN j.moves THEN false ELSE leads.stale AND NOT j.moved END,
    stale_since = CASE WHEN j.moves OR j.moved THEN NULL ELSE leads.stale_since END,
    disqualification_reason
        = CASE WHEN j.moves AND NOT j.keep THEN j.code ELSE leads.disqualification_reason END,
    updated_at = now()
FROM j WHERE leads.id = ANY($1::uuid[] || $17::uuid[]) AND leads.id = j.id
"""


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


LEAD_SORTS = browsing.Sorting(
    {
        "id": browsing.SortKey("id", "uuid"),
        "status_since": browsing.SortKey("status_since", "moment"),
        "created_at": browsing.SortKey("created_at", "moment"),
        "fit_score": browsing.SortKey("coalesce(fit_score, -1)", "number"),
        "engagement_score": browsing.SortKey("coalesce(engagement_score, -1)", "number"),
    },
    default="id",
)
LEAD_SEARCHED = [
    *(f"profile->>'{field}'" for field in ("first_name", "last_name", "email", "company")),
    "owner",
]


async def list_leads(
    conn: Conn,
    status: str | None,
    owner: str | None,
    stale: bool | None,
    *,
    q: str | None = None,
    sort: str = "id",
    cursor: str | None = None,
    limit: int,
) -> browsing.Page:
    """One page of leads, filtered, searched and sorted (by id unless asked otherwise)."""
    query = browsing.new_query()
    query.where.append("merged_into IS NULL")
    if status is not None:
        query.add("status = {0}", status)
    if owner is not None:
        query.add("owner = {0}", owner)
    if stale is not None:
        query.add("stale = {0}", stale)
    browsing.search(query, q, LEAD_SEARCHED)
    return await browsing.fetch_page(
        conn,
        columns=(
            "id, status, category, owner, team, fit_score, engagement_score, stale, stale_since,"
            " disqualification_reason, status_since, created_at, profile->>'email' AS email,"
            " profile->>'company' AS company, profile->>'first_name' AS first_name,"
            " profile->>'last_name' AS last_name"
        ),
        source="leads",
        query=query,
        sorting=LEAD_SORTS,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


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
    """Leads of a category idle longer than idle_s and held by no person's override, locked (skipping those
    another worker holds)."""
    rows = await conn.fetch(
        f"SELECT {LEAD_COLUMNS} FROM leads WHERE category = $1 AND merged_into IS NULL"
        " AND NOT manual_override AND last_progress_at < now() - make_interval(secs => $2)"
        " ORDER BY last_progress_at LIMIT $3 FOR UPDATE SKIP LOCKED",
        category,
        idle_s,
        limit,
    )
    return [LeadRow.of(r) for r in rows]
