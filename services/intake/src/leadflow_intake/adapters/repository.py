"""SQL for the intake schema: leads, identity keys, touches and the quarantine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeAlias
from uuid import UUID

import asyncpg

from leadflow_intake.domain.dedup import company_name, folded_name, person_name
from leadflow_intake.domain.kpis import WindowDays, window_days
from leadflow_intake.domain.sources import ConsentChange
from leadflow_shared import browsing
from leadflow_shared.contracts.lead import LeadProfile, Touch

Conn: TypeAlias = asyncpg.Connection


async def touch_seen(conn: Conn, source_system: str, source_id: str) -> UUID | None:
    """The lead a source's own id already reached, if that delivery was seen before."""
    lead_id: UUID | None = await conn.fetchval(
        "SELECT lead_id FROM touches WHERE source_system = $1 AND source_id = $2", source_system, source_id
    )
    return lead_id


# One key's owner, looked up by primary key. LIMIT keeps the subquery from being flattened into a join that a
# planner without statistics (a young table) would run as a hash join over every key.
_KEY_OWNER = "SELECT lead_id FROM identity_keys WHERE kind = q.kind AND value = q.value LIMIT 1"


async def leads_by_keys(conn: Conn, keys: list[tuple[str, str]]) -> list[UUID]:
    """Lead ids that own any of the identity keys, oldest first, merged leads resolved to survivors."""
    if not keys:
        return []
    rows = await conn.fetch(
        f"""
        SELECT coalesce(l.merged_into, l.id) AS id, min(l.created_at) AS created
        FROM unnest($1::text[], $2::text[]) AS q(kind, value)
        CROSS JOIN LATERAL ({_KEY_OWNER}) k JOIN leads l ON l.id = k.lead_id
        GROUP BY 1 ORDER BY created
        """,
        [k for k, _ in keys],
        [v for _, v in keys],
    )
    return [row["id"] for row in rows]


async def insert_lead(conn: Conn, lead_id: UUID, profile: LeadProfile) -> None:
    """Store a new lead."""
    await conn.execute(
        "INSERT INTO leads (id, email, phone, profile, company_domain, company_key, name_key)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        lead_id,
        profile.email,
        profile.phone,
        profile.model_dump(mode="json"),
        profile.company_domain,
        company_name(profile) or None,
        person_name(profile),
    )


async def update_lead(conn: Conn, lead_id: UUID, profile: LeadProfile) -> None:
    """Replace a lead's profile."""
    await conn.execute(
        "UPDATE leads SET email = $2, phone = $3, profile = $4, company_domain = $5, company_key = $6,"
        " name_key = $7, updated_at = now() WHERE id = $1",
        lead_id,
        profile.email,
        profile.phone,
        profile.model_dump(mode="json"),
        profile.company_domain,
        company_name(profile) or None,
        person_name(profile),
    )


async def claim_keys(conn: Conn, lead_id: UUID, keys: list[tuple[str, str]]) -> bool:
    """Give the lead its identity keys; answer False when another lead holds one of them already."""
    if not keys:
        return True
    rows = await conn.fetch(
        """
        INSERT INTO identity_keys (kind, value, lead_id)
        SELECT kind, value, $3 FROM unnest($1::text[], $2::text[]) AS k(kind, value)
        ON CONFLICT (kind, value) DO UPDATE SET lead_id = identity_keys.lead_id
        RETURNING lead_id
        """,
        [k for k, _ in keys],
        [v for _, v in keys],
        lead_id,
    )
    return all(row["lead_id"] == lead_id for row in rows)


async def add_touch(conn: Conn, lead_id: UUID, touch: Touch) -> bool:
    """Remember one touch; answer False when the same source id was recorded before."""
    status = await conn.execute(
        """
        INSERT INTO touches (lead_id, channel, source_system, source_id, campaign, occurred_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (source_system, source_id) WHERE source_id IS NOT NULL DO NOTHING
        """,
        lead_id,
        touch.channel.value,
        touch.source_system,
        touch.source_id,
        touch.campaign.model_dump(mode="json", exclude_none=True),
        touch.occurred_at,
    )
    return bool(status.endswith(" 1"))


async def quarantine(
    conn: Conn,
    rejection_id: UUID,
    source_system: str,
    reason: str,
    problems: list[dict[str, str]],
    payload: Any,
) -> None:
    """Keep what could not become a lead, with its reason."""
    await conn.execute(
        "INSERT INTO rejections (id, source_system, reason, problems, payload) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (id) DO NOTHING",
        rejection_id,
        source_system,
        reason,
        problems,
        payload,
    )


async def lead_with_touches(conn: Conn, lead_id: UUID) -> dict[str, Any] | None:
    """A lead's profile and every touch, for the API."""
    lead = await conn.fetchrow(
        "SELECT id, profile, merged_into, created_at, updated_at FROM leads WHERE id = $1", lead_id
    )
    if lead is None:
        return None
    touches = await conn.fetch(
        "SELECT channel, source_system, source_id, campaign, occurred_at FROM touches"
        " WHERE lead_id = $1 ORDER BY occurred_at, id",
        lead_id,
    )
    return {
        "id": lead["id"],
        "profile": lead["profile"],
        "merged_into": lead["merged_into"],
        "created_at": lead["created_at"],
        "updated_at": lead["updated_at"],
        "touches": [dict(t) for t in touches],
        "corrections": await corrections_of(conn, lead_id),
    }


async def list_rejections(
    conn: Conn, after: tuple[datetime, UUID] | None, limit: int
) -> list[dict[str, Any]]:
    """Quarantined submissions, oldest first, after a keyset cursor."""
    rows = await conn.fetch(
        """
        SELECT id, source_system, reason, problems, payload, received_at FROM rejections
        WHERE $1::timestamptz IS NULL OR (received_at, id) > ($1, $2)
        ORDER BY received_at, id LIMIT $3
        """,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [dict(r) for r in rows]


TOTALS = ("source_day_totals", "lead_days", "rejection_days")
"""The running totals of this schema (migration 0005), folded by the service's background job."""

# A touch's key as the running totals keep it: its UTC day, and its campaign as '' when it has none, else
# '=' followed by the campaign (so that an empty campaign name stays apart from none).
_TOUCH_KEY = (
    "(received_at AT TIME ZONE 'UTC')::date AS day, source_system AS source, channel,"
    " coalesce('=' || coalesce(campaign->>'utm_campaign', campaign->>'campaign_name',"
    " campaign->>'campaign_id'), '') AS campaign_key"
)

# Counts are summed as integer (into bigint): sums of bigint go through numeric, several times slower.
_BY_DAY = """
WITH counted (day, source, channel, campaign_key, touches, leads) AS (
    SELECT day, source, channel, campaign_key, touches::int, leads::int FROM source_day_totals WHERE {days}
    UNION ALL
    SELECT {touch_key}, count(*)::int, count(DISTINCT lead_id)::int FROM touches WHERE {inside}
    GROUP BY 1, 2, 3, 4
    UNION ALL
    -- A lead leaves a key's count when all its touches of the key that day are outside the window.
    SELECT o.day, o.source, o.channel, o.campaign_key,
           -sum(o.touches)::int, -(count(*) FILTER (WHERE m.touches = o.touches))::int
    FROM (SELECT {touch_key}, lead_id, count(*) AS touches FROM touches WHERE {outside}
          GROUP BY 1, 2, 3, 4, 5) o
    JOIN source_day_leads m USING (day, source, channel, campaign_key, lead_id)
    GROUP BY 1, 2, 3, 4
)
SELECT day::timestamp AT TIME ZONE 'UTC' AS day, source, channel,
       substr(nullif(campaign_key, ''), 2) AS campaign,
       sum(touches) AS touches, sum(leads) AS leads
FROM counted GROUP BY day, source, channel, campaign_key HAVING sum(touches) <> 0
ORDER BY 1, 2, 3, 4
"""

_TOTALS = """
SELECT (SELECT coalesce(sum(new_leads), 0) FROM lead_days WHERE {days})
       + (SELECT count(*) FROM leads WHERE {leads_inside})
       - (SELECT count(*) FROM leads WHERE {leads_outside}) AS new_leads,
       (SELECT coalesce(sum(merged_leads), 0) FROM lead_days WHERE {days})
       + (SELECT count(*) FROM leads WHERE merged_into IS NOT NULL AND ({leads_inside}))
       - (SELECT count(*) FROM leads WHERE merged_into IS NOT NULL AND ({leads_outside})) AS merged_leads,
       (SELECT coalesce(sum(rejections), 0) FROM rejection_days WHERE {days})
       + (SELECT count(*) FROM rejections WHERE {rejections_inside})
       - (SELECT count(*) FROM rejections WHERE {rejections_outside}) AS rejections
"""


class _Params:
    """Positional query parameters, numbered as they are added."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


@dataclass(frozen=True)
class _Plan:
    """What to read for a window: the days taken whole from the totals and the rows to add or subtract."""

    first_day: date
    end_day: date
    whole_days: list[date]
    inside: list[tuple[datetime, datetime]]
    outside: list[tuple[datetime, datetime]]

    def days(self, p: _Params) -> str:
        return (
            f"((day >= {p(self.first_day)} AND day < {p(self.end_day)})"
            f" OR day = ANY({p(self.whole_days)}::date[]))"
        )


def _within(column: str, parts: Sequence[tuple[datetime, datetime]], p: _Params) -> str:
    return " OR ".join(f"({column} >= {p(lo)} AND {column} < {p(hi)})" for lo, hi in parts) or "false"


async def _plan(conn: Conn, window: WindowDays) -> _Plan:
    """Read each partial day from one side of the window's edge: the day's totals less the rows outside the
    window when those are at most a quarter of the day (a row outside costs a lookup of its lead's membership
    besides its read), else the rows inside."""
    plan = _Plan(window.first_day, window.end_day, [], [], [])
    if not window.edges:
        return plan
    day_touches = dict(
        await conn.fetch(
            "SELECT day, sum(touches) FROM source_day_totals WHERE day = ANY($1::date[]) GROUP BY day",
            [edge.day for edge in window.edges],
        )
    )
    p = _Params()
    read_outside = []
    for edge in window.edges:
        quarter = int(day_touches.get(edge.day, 0)) // 4
        # Counted up to one past a quarter of the day only: the answer is the side, not the number.
        outside = " UNION ALL ".join(
            f"SELECT 1 FROM touches WHERE received_at >= {p(lo)} AND received_at < {p(hi)}"
            for lo, hi in edge.rest
        )
        read_outside.append(f"(SELECT count(*) <= {p(quarter)} FROM ({outside} LIMIT {p(quarter + 1)}) s)")
    sides = await conn.fetchrow(f"SELECT {', '.join(read_outside)}", *p.values)
    for edge, side in zip(window.edges, sides, strict=True):
        if side:
            plan.whole_days.append(edge.day)
            plan.outside.extend(edge.rest)
        else:
            plan.inside.append((edge.start, edge.end))
    return plan


async def source_kpi_rows(
    conn: Conn, start: datetime, end: datetime
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Touches and leads by day, source, channel and campaign in [start, end), and the period's totals.

    Whole UTC days are summed from the running totals; a partial day at an edge of the window is counted
    from its rows (see _plan), all in one snapshot.
    """
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        plan = await _plan(conn, window_days(start, end))
        p = _Params()
        rows = await conn.fetch(
            _BY_DAY.format(
                days=plan.days(p),
                touch_key=_TOUCH_KEY,
                inside=_within("received_at", plan.inside, p),
                outside=_within("received_at", plan.outside, p),
            ),
            *p.values,
        )
        p = _Params()
        totals = await conn.fetchrow(
            _TOTALS.format(
                days=plan.days(p),
                leads_inside=_within("created_at", plan.inside, p),
                leads_outside=_within("created_at", plan.outside, p),
                rejections_inside=_within("received_at", plan.inside, p),
                rejections_outside=_within("received_at", plan.outside, p),
            ),
            *p.values,
        )
    by_day = [dict(r) for r in rows]
    return by_day, {"touches": sum(r["touches"] for r in by_day), **{k: int(v) for k, v in totals.items()}}


# What fuzzy matching reads of a candidate's profile: the rest is not worth reading or validating. As text
# columns, not a JSON object per candidate: decoding those cost intake more than the rest of the query.
CANDIDATE_FIELDS = ("first_name", "last_name", "email", "phone", "company", "company_domain")
_MATCHED = ", ".join(f"profile->>'{name}' AS {name}" for name in CANDIDATE_FIELDS)
# What the duplicate search reads of each person at a company before it compares any in full: plain columns.
# A lead stored before the name key existed (or erased since) gives the names its key is folded from.
_GLANCE = (
    "id, name_key, email, phone, created_at,"
    " CASE WHEN name_key IS NULL THEN profile->>'first_name' END AS first_name,"
    " CASE WHEN name_key IS NULL THEN profile->>'last_name' END AS last_name"
)


# A stored person as the duplicate search first sees them: folded name, email, phone and when it was stored.
Glance: TypeAlias = tuple[str, str | None, str | None, datetime]


async def record_duplicate(
    conn: Conn, duplicate_id: UUID, lead_id: UUID, candidate_id: UUID, score: float, reason: str
) -> None:
    """List a possible duplicate pair for a person to merge or dismiss."""
    await conn.execute(
        "INSERT INTO duplicates (id, lead_id, candidate_id, score, reason) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT DO NOTHING",
        duplicate_id,
        lead_id,
        candidate_id,
        score,
        reason,
    )


async def resolve_lead(conn: Conn, lead_id: UUID | None, email: str | None) -> UUID | None:
    """The live lead behind a lead id (following merges) or an email address."""
    if lead_id is not None:
        found: UUID | None = await conn.fetchval(
            "SELECT coalesce(merged_into, id) FROM leads WHERE id = $1", lead_id
        )
        return found
    if email:
        found = await conn.fetchval(
            "SELECT coalesce(l.merged_into, l.id) FROM identity_keys k JOIN leads l ON l.id = k.lead_id"
            " WHERE k.kind = 'email' AND k.value = $1",
            email.strip().lower(),
        )
        return found
    return None


LEAD_SORTS = browsing.Sorting(
    {
        "created_at": browsing.SortKey("l.created_at", "moment"),
        "updated_at": browsing.SortKey("l.updated_at", "moment"),
        "last_name": browsing.SortKey("coalesce(l.profile->>'last_name', '')", "text"),
        "company": browsing.SortKey("coalesce(l.profile->>'company', '')", "text"),
    },
    default="created_at",
    id_column="l.id",
)
LEAD_SEARCHED = [
    f"l.profile->>'{field}'" for field in ("first_name", "last_name", "email", "company", "job_title")
]


async def list_leads(
    conn: Conn,
    *,
    email: str | None,
    source: str | None,
    since: datetime | None,
    q: str | None = None,
    sort: str = "created_at",
    cursor: str | None = None,
    limit: int,
) -> browsing.Page:
    """Live leads filtered by email, source system, creation time and text, sorted, after a keyset cursor."""
    query = browsing.new_query()
    query.where.append("l.merged_into IS NULL")
    if email is not None:
        query.add(
            "l.id = (SELECT k.lead_id FROM identity_keys k WHERE k.kind = 'email' AND k.value = lower({0}))",
            email,
        )
    if source is not None:
        query.add("EXISTS (SELECT 1 FROM touches t WHERE t.lead_id = l.id AND t.source_system = {0})", source)
    if since is not None:
        query.add("l.created_at >= {0}", since)
    browsing.search(query, q, LEAD_SEARCHED)
    return await browsing.fetch_page(
        conn,
        columns="l.id, l.profile, l.created_at, l.updated_at",
        source="leads l",
        query=query,
        sorting=LEAD_SORTS,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )


async def list_duplicates(
    conn: Conn, status: str, after: tuple[datetime, UUID] | None, limit: int
) -> list[dict[str, Any]]:
    """Duplicate pairs in a status with both profiles, oldest first, after a keyset cursor."""
    rows = await conn.fetch(
        """
        SELECT d.id, d.lead_id, d.candidate_id, d.score, d.reason, d.status, d.created_at, d.decided_at,
               a.profile AS lead_profile, b.profile AS candidate_profile
        FROM duplicates d JOIN leads a ON a.id = d.lead_id JOIN leads b ON b.id = d.candidate_id
        WHERE d.status = $1 AND ($2::timestamptz IS NULL OR (d.created_at, d.id) > ($2, $3))
        ORDER BY d.created_at, d.id LIMIT $4
        """,
        status,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [dict(r) for r in rows]


async def lock_duplicate(conn: Conn, duplicate_id: UUID) -> asyncpg.Record | None:
    """A duplicate pair's leads and status, locked for its decision."""
    return await conn.fetchrow(
        "SELECT lead_id, candidate_id, status FROM duplicates WHERE id = $1 FOR UPDATE", duplicate_id
    )


async def mark_duplicate(conn: Conn, duplicate_id: UUID, status: Literal["merged", "dismissed"]) -> None:
    """Record a person's decision on a duplicate pair."""
    await conn.execute(
        "UPDATE duplicates SET status = $2, decided_at = now() WHERE id = $1", duplicate_id, status
    )


async def touches_seen(conn: Conn, deliveries: list[tuple[str, str]]) -> dict[tuple[str, str], UUID]:
    """Of (source, source id) pairs, those seen before, with the lead each reached."""
    if not deliveries:
        return {}
    rows = await conn.fetch(
        "SELECT d.source_system, d.source_id, t.lead_id"
        " FROM unnest($1::text[], $2::text[]) AS d(source_system, source_id)"
        " CROSS JOIN LATERAL (SELECT lead_id FROM touches"
        " WHERE source_system = d.source_system AND source_id = d.source_id LIMIT 1) t",
        [s for s, _ in deliveries],
        [i for _, i in deliveries],
    )
    return {(r["source_system"], r["source_id"]): r["lead_id"] for r in rows}


async def keys_owned(conn: Conn, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Of these identity keys, the ones some lead holds already."""
    if not keys:
        return set()
    rows = await conn.fetch(
        f"SELECT q.kind, q.value FROM unnest($1::text[], $2::text[]) AS q(kind, value)"
        f" CROSS JOIN LATERAL ({_KEY_OWNER}) k",
        [k for k, _ in keys],
        [v for _, v in keys],
    )
    return {(r["kind"], r["value"]) for r in rows}


async def company_candidates(
    conn: Conn, domains: list[str], company_keys: list[str], limit: int
) -> tuple[dict[str, list[UUID]], dict[str, list[UUID]], dict[UUID, Glance]]:
    """Live leads at these company domains and folded company names (at most `limit` each): ids by domain,
    ids by company key, and a glance at each (most are never compared in full: candidate_profiles() reads
    those that are)."""
    if not domains and not company_keys:
        return {}, {}, {}
    rows = await conn.fetch(
        f"""
        SELECT 'domain' AS by, q.value, l.* FROM unnest($1::text[]) AS q(value)
        CROSS JOIN LATERAL (SELECT {_GLANCE} FROM leads
                            WHERE company_domain = q.value AND merged_into IS NULL LIMIT $3) l
        UNION ALL
        SELECT 'key', q.value, l.* FROM unnest($2::text[]) AS q(value)
        CROSS JOIN LATERAL (SELECT {_GLANCE} FROM leads
                            WHERE company_key = q.value AND merged_into IS NULL LIMIT $3) l
        """,
        domains,
        company_keys,
        limit,
    )
    by_domain: dict[str, list[UUID]] = {}
    by_key: dict[str, list[UUID]] = {}
    glances: dict[UUID, Glance] = {}
    for r in rows:
        lead_id = r["id"]
        (by_domain if r["by"] == "domain" else by_key).setdefault(r["value"], []).append(lead_id)
        if lead_id not in glances:
            name = r["name_key"]
            glances[lead_id] = (
                name if name is not None else folded_name(r["first_name"], r["last_name"]),
                r["email"],
                r["phone"],
                r["created_at"],
            )
    return by_domain, by_key, glances


async def candidate_profiles(conn: Conn, lead_ids: Sequence[UUID]) -> dict[UUID, LeadProfile]:
    """The CANDIDATE_FIELDS of these live leads' profiles, as profiles, for a comparison in full."""
    if not lead_ids:
        return {}
    rows = await conn.fetch(
        f"SELECT id, {_MATCHED} FROM leads WHERE id = ANY($1::uuid[]) AND merged_into IS NULL", list(lead_ids)
    )
    return {r["id"]: LeadProfile.model_validate({name: r[name] for name in CANDIDATE_FIELDS}) for r in rows}


async def insert_new_leads(
    conn: Conn, leads: list[tuple[UUID, LeadProfile, list[tuple[str, str]], Touch]]
) -> set[UUID]:
    """Store new leads with their identity keys and first touch; answer the leads that found a key or
    source id taken by a concurrent capture (the caller rolls back when there are any)."""
    await conn.execute(
        "INSERT INTO leads (id, email, phone, profile, company_domain, company_key, name_key)"
        " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[],"
        " $7::text[])",
        *_lead_columns([(lead_id, profile) for lead_id, profile, _, _ in leads]),
    )
    owners = [(kind, value, lead_id) for lead_id, _, keys, _ in leads for kind, value in keys]
    claimed = await claim_many_keys(conn, owners)
    lost = {lead_id for kind, value, lead_id in owners if (kind, value, lead_id) not in claimed}
    ordered = sorted(leads, key=lambda lead: (lead[3].source_system, lead[3].source_id or ""))
    touched = {lead_id for lead_id, _, _ in await add_touches(conn, [(i, t) for i, _, _, t in ordered])}
    return lost | {lead_id for lead_id, _, _, _ in leads if lead_id not in touched}


async def survivors(conn: Conn, keys_of: list[list[tuple[str, str]]]) -> list[set[UUID]]:
    """leads_by_keys() of many submissions' keys at once, each as a set."""
    if not keys_of:
        return []
    rows = await conn.fetch(
        f"""
        SELECT DISTINCT q.n, coalesce(l.merged_into, l.id) AS id
        FROM unnest($1::int[], $2::text[], $3::text[]) AS q(n, kind, value)
        CROSS JOIN LATERAL ({_KEY_OWNER}) k JOIN leads l ON l.id = k.lead_id
        """,
        [n for n, keys in enumerate(keys_of) for _ in keys],
        [kind for keys in keys_of for kind, _ in keys],
        [value for keys in keys_of for _, value in keys],
    )
    found: list[set[UUID]] = [set() for _ in keys_of]
    for r in rows:
        found[r["n"]].add(r["id"])
    return found


@dataclass(frozen=True)
class StoredProfile:
    """A lead's stored profile, when each value occurred, and the moment of values without a time."""

    profile: LeadProfile
    as_of: dict[str, datetime]
    baseline: datetime


async def lock_profiles_by_id(conn: Conn, lead_ids: list[UUID]) -> dict[UUID, LeadProfile]:
    """Many leads' profiles, locked in the order of their ids."""
    rows = await conn.fetch(
        "SELECT id, profile FROM leads WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", lead_ids
    )
    return {r["id"]: LeadProfile.model_validate(r["profile"]) for r in rows}


async def lock_profiles(conn: Conn, lead_ids: list[UUID]) -> dict[UUID, StoredProfile]:
    """Many leads' profiles with their value times, locked in the order given.

    A value with no time of its own came with the lead's first touch.
    """
    rows = await conn.fetch(
        """
        SELECT l.id, l.profile, l.field_times,
               coalesce((SELECT t.occurred_at FROM touches t WHERE t.lead_id = l.id ORDER BY t.id LIMIT 1),
                        l.created_at) AS baseline
        FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)
        JOIN leads l ON l.id = u.id ORDER BY u.n FOR UPDATE OF l
        """,
        lead_ids,
    )
    return {
        r["id"]: StoredProfile(
            LeadProfile.model_validate(r["profile"]),
            {path: datetime.fromisoformat(at) for path, at in r["field_times"].items()},
            r["baseline"],
        )
        for r in rows
    }


async def update_leads(
    conn: Conn, leads: list[tuple[UUID, LeadProfile]], as_of: Sequence[Mapping[str, datetime]] | None = None
) -> None:
    """Replace many leads' profiles, each once; with `as_of`, also when each of their values occurred."""
    times = None if as_of is None else [{path: at.isoformat() for path, at in t.items()} for t in as_of]
    await conn.execute(
        """
        UPDATE leads l SET email = u.email, phone = u.phone, profile = u.profile,
               company_domain = u.company_domain, company_key = u.company_key, name_key = u.name_key,
               updated_at = now(), field_times = coalesce(u.field_times, l.field_times)
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::text[],
                    $8::jsonb[])
             AS u(id, email, phone, profile, company_domain, company_key, name_key, field_times)
        WHERE l.id = u.id
        """,
        *_lead_columns(leads),
        times if times is not None else [None] * len(leads),
    )


def _lead_columns(leads: list[tuple[UUID, LeadProfile]]) -> list[list[Any]]:
    """The columns of leads rows as arrays: id, email, phone, profile, company domain, company key and name
    key."""
    return [
        [lead_id for lead_id, _ in leads],
        [p.email for _, p in leads],
        [p.phone for _, p in leads],
        [p.model_dump(mode="json") for _, p in leads],
        [p.company_domain for _, p in leads],
        [company_name(p) or None for _, p in leads],
        [person_name(p) for _, p in leads],
    ]


async def claim_many_keys(conn: Conn, owners: list[tuple[str, str, UUID]]) -> set[tuple[str, str, UUID]]:
    """claim_keys() of many (kind, value, lead id) at once, none twice: answer the ones each lead got or
    had already."""
    if not owners:
        return set()
    # Rows in key order: concurrent batches then wait on each other instead of deadlocking.
    ordered = sorted(owners)
    rows = await conn.fetch(
        """
        INSERT INTO identity_keys (kind, value, lead_id)
        SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[])
        ON CONFLICT (kind, value) DO UPDATE SET lead_id = identity_keys.lead_id
        RETURNING kind, value, lead_id
        """,
        [k for k, _, _ in ordered],
        [v for _, v, _ in ordered],
        [i for _, _, i in ordered],
    )
    return {(r["kind"], r["value"], r["lead_id"]) for r in rows}


async def add_touches(conn: Conn, touches: list[tuple[UUID, Touch]]) -> list[tuple[UUID, str, str | None]]:
    """add_touch() of many touches, in the order given: answer (lead id, source system, source id) of
    those recorded, not of those whose source id was recorded before."""
    rows = await conn.fetch(
        """
        INSERT INTO touches (lead_id, channel, source_system, source_id, campaign, occurred_at)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[])
        ON CONFLICT (source_system, source_id) WHERE source_id IS NOT NULL DO NOTHING
        RETURNING lead_id, source_system, source_id
        """,
        [lead_id for lead_id, _ in touches],
        [t.channel.value for _, t in touches],
        [t.source_system for _, t in touches],
        [t.source_id for _, t in touches],
        [t.campaign.model_dump(mode="json", exclude_none=True) for _, t in touches],
        [t.occurred_at for _, t in touches],
    )
    return [(r["lead_id"], r["source_system"], r["source_id"]) for r in rows]


async def lock_lead_state(conn: Conn, lead_id: UUID) -> tuple[bool, UUID | None]:
    """Whether the lead exists and the survivor it was merged into, if any; the lead row is locked."""
    row = await conn.fetchrow("SELECT merged_into FROM leads WHERE id = $1 FOR UPDATE", lead_id)
    return (False, None) if row is None else (True, row["merged_into"])


async def record_correction(
    conn: Conn,
    correction_id: UUID,
    lead_id: UUID,
    actor: str,
    reason: str,
    changes: dict[str, dict[str, Any]],
    at: datetime,
) -> None:
    """Keep who corrected which fields of a lead, why, and each value before and after."""
    await conn.execute(
        "INSERT INTO corrections (id, lead_id, actor, reason, changes, corrected_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        correction_id,
        lead_id,
        actor,
        reason,
        changes,
        at,
    )


async def corrections_of(conn: Conn, lead_id: UUID) -> list[dict[str, Any]]:
    """A lead's corrections, oldest first."""
    rows = await conn.fetch(
        "SELECT id, actor, reason, changes, corrected_at FROM corrections WHERE lead_id = $1"
        " ORDER BY corrected_at, id",
        lead_id,
    )
    return [dict(r) for r in rows]


@dataclass(frozen=True)
class Moved:
    """What moved from one lead to another: touch ids, identity keys, activities and consent changes by
    their keys, and the leads that had been merged into the one that moved."""

    touch_ids: list[int]
    identity_keys: list[list[str]]
    activities: list[list[str]]
    consent_changes: list[list[str]]
    redirected: list[UUID]


async def fold_lead(conn: Conn, survivor: UUID, merged: UUID) -> Moved:
    """Mark `merged` as merged into `survivor` and move everything it holds there; answer what moved."""
    redirected = await conn.fetch(
        "UPDATE leads SET merged_into = $1, updated_at = now() WHERE merged_into = $2 RETURNING id",
        survivor,
        merged,
    )
    await conn.execute(
        "UPDATE leads SET merged_into = $1, updated_at = now() WHERE id = $2", survivor, merged
    )
    touches = await conn.fetch(
        "UPDATE touches SET lead_id = $1 WHERE lead_id = $2 RETURNING id", survivor, merged
    )
    keys = await conn.fetch(
        "UPDATE identity_keys SET lead_id = $1 WHERE lead_id = $2 RETURNING kind, value", survivor, merged
    )
    activities = await conn.fetch(
        "UPDATE activities SET lead_id = $1 WHERE lead_id = $2 RETURNING source_system, activity_id",
        survivor,
        merged,
    )
    consents = await conn.fetch(
        "UPDATE consent_changes SET lead_id = $1 WHERE lead_id = $2 RETURNING source_system, source_id",
        survivor,
        merged,
    )
    return Moved(
        sorted(r["id"] for r in touches),
        [[r["kind"], r["value"]] for r in keys],
        [[r["source_system"], r["activity_id"]] for r in activities],
        [[r["source_system"], r["source_id"]] for r in consents],
        [r["id"] for r in redirected],
    )


async def record_merge(
    conn: Conn, merge_id: UUID, survivor: UUID, merged: UUID, moved: Moved, changes: dict[str, dict[str, Any]]
) -> None:
    """Keep what a merge moved and what it changed in the survivor, so it can be undone."""
    await conn.execute(
        "INSERT INTO merges (id, survivor_id, merged_id, touch_ids, identity_keys, activities,"
        " consent_changes, redirected, survivor_changes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        merge_id,
        survivor,
        merged,
        moved.touch_ids,
        moved.identity_keys,
        moved.activities,
        moved.consent_changes,
        moved.redirected,
        changes,
    )


@dataclass(frozen=True)
class MergeRecord:
    """A merge in force and what it moved."""

    id: UUID
    survivor_id: UUID
    moved: Moved
    survivor_changes: dict[str, dict[str, Any]]


async def merge_in_force(conn: Conn, merged: UUID) -> MergeRecord | None:
    """The merge that folded this lead into another, if it is in force and was recorded; locked."""
    row = await conn.fetchrow(
        "SELECT * FROM merges WHERE merged_id = $1 AND unmerged_at IS NULL FOR UPDATE", merged
    )
    if row is None:
        return None
    moved = Moved(
        list(row["touch_ids"]),
        row["identity_keys"],
        row["activities"],
        row["consent_changes"],
        list(row["redirected"]),
    )
    return MergeRecord(row["id"], row["survivor_id"], moved, row["survivor_changes"])


async def restore_lead(conn: Conn, record: MergeRecord, merged: UUID, actor: str, reason: str) -> None:
    """Give the merged lead back what the merge moved, make it live again, and close the record."""
    moved = record.moved
    await conn.execute("UPDATE leads SET merged_into = NULL, updated_at = now() WHERE id = $1", merged)
    await conn.execute(
        "UPDATE leads SET merged_into = $1, updated_at = now() WHERE id = ANY($2::uuid[])",
        merged,
        moved.redirected,
    )
    await conn.execute(
        "UPDATE touches SET lead_id = $1 WHERE id = ANY($2::bigint[])", merged, moved.touch_ids
    )
    for table, (first, second), rows in (
        ("identity_keys", ("kind", "value"), moved.identity_keys),
        ("activities", ("source_system", "activity_id"), moved.activities),
        ("consent_changes", ("source_system", "source_id"), moved.consent_changes),
    ):
        await conn.execute(
            f"UPDATE {table} t SET lead_id = $1 FROM unnest($2::text[], $3::text[]) AS m(a, b)"
            f" WHERE t.{first} = m.a AND t.{second} = m.b",
            merged,
            [a for a, _ in rows],
            [b for _, b in rows],
        )
    await conn.execute(
        "UPDATE duplicates SET status = 'dismissed', decided_at = now() WHERE status = 'merged'"
        " AND LEAST(lead_id, candidate_id) = LEAST($1::uuid, $2::uuid)"
        " AND GREATEST(lead_id, candidate_id) = GREATEST($1::uuid, $2::uuid)",
        record.survivor_id,
        merged,
    )
    await conn.execute(
        "UPDATE merges SET unmerged_at = now(), unmerged_by = $2, unmerge_reason = $3 WHERE id = $1",
        record.id,
        actor,
        reason,
    )


async def add_activity(
    conn: Conn,
    source_system: str,
    activity_id: str,
    lead_id: UUID,
    activity_type: str,
    trigger: str | None,
    occurred_at: datetime,
) -> bool:
    """Record a source's activity against a lead; False when that source's activity id was seen before."""
    inserted: bool | None = await conn.fetchval(
        "INSERT INTO activities (source_system, activity_id, lead_id, activity_type, trigger, occurred_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true",
        source_system,
        activity_id,
        lead_id,
        activity_type,
        trigger,
        occurred_at,
    )
    return bool(inserted)


async def keep_pending_consent(
    conn: Conn, change: ConsentChange, source_id: str, email_key: str | None
) -> None:
    """Keep a consent change for an email no lead has yet (a change kept before stays as it was)."""
    await conn.execute(
        "INSERT INTO pending_consent"
        " (source_system, source_id, email_key, channel, opted_in, reason, occurred_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        change.source_system,
        source_id,
        email_key,
        change.channel.value,
        change.opted_in,
        change.reason,
        change.occurred_at,
    )


async def take_pending_consent(conn: Conn, email_keys: list[str]) -> list[asyncpg.Record]:
    """Remove and answer the consent changes kept for these email keys."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "DELETE FROM pending_consent WHERE email_key = ANY($1::text[]) RETURNING *", email_keys
    )
    return rows


async def add_consent_change(conn: Conn, change: ConsentChange, source_id: str, lead_id: UUID) -> bool:
    """Record a consent change against a lead; False when that source's change was seen before."""
    inserted: bool | None = await conn.fetchval(
        "INSERT INTO consent_changes (source_system, source_id, lead_id, channel, opted_in, reason)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true",
        change.source_system,
        source_id,
        lead_id,
        change.channel.value,
        change.opted_in,
        change.reason,
    )
    return bool(inserted)
