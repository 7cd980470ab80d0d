"""The funnel read from the cells and the per-lead facts gives what the original statements over the whole
history, and over the facts of every lead of the window, gave."""

from __future__ import annotations

import asyncio
import bisect
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from leadflow_qualification.adapters import kpis
from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.domain.funnel import (
    BUCKET_THRESHOLDS,
    DISQUALIFIED,
    FUNNEL_STEPS,
    NO_GROUP,
    REASONS,
    FunnelFigures,
    GroupBy,
    Middles,
    bucket_value,
    day_of,
    day_start,
    idle_since,
    nodes_covering,
    usable_nodes,
)
from leadflow_qualification.domain.staleness import CategoryLimit, StalenessLimits
from leadflow_qualification.domain.statuses import BaseCategory
from leadflow_qualification.use_cases import funnel_cells

pytestmark = pytest.mark.service

# Midday, years back, so that no other test's leads fall in these windows.
BASE = datetime(2021, 3, 1, 12, tzinfo=UTC)
NOW = BASE + timedelta(days=9)
STATUSES = (
    ("open", "open"),
    ("new", "open"),
    ("contacted", "contacted"),
    ("meeting", "contacted"),
    ("qualified", "qualified"),
    ("converted", "converted"),
    ("unqualified", "unqualified"),
    ("nurturing", "nurturing"),
    ("archived", "archived"),
)
CODES = (*sorted(REASONS), "gone_quiet", None)
# Short limits, so that the leads of the windows are fresh, stale and unresponsive at NOW.
LIMITS = StalenessLimits(
    limits={
        BaseCategory.OPEN: CategoryLimit(stale_after_hours=150),
        BaseCategory.CONTACTED: CategoryLimit(stale_after_hours=120, unresponsive_after_hours=170),
        BaseCategory.QUALIFIED: CategoryLimit(stale_after_hours=100.5, unresponsive_after_hours=180),
    }
)


def _first(category: BaseCategory) -> str:
    return f"min(at) FILTER (WHERE category = '{category.value}')"


def _last(category: BaseCategory) -> str:
    return f"max(at) FILTER (WHERE category = '{category.value}')"


# Per funnel step: whether a lead entered the first category, and whether it entered the second later.
_STEPS = ", ".join(
    f"{_first(a)} IS NOT NULL AS entered_{n}, coalesce({_last(b)} >= {_first(a)}, false) AS reached_{n}"
    for n, (a, b) in enumerate(FUNNEL_STEPS)
)
_STEP_COUNTS = ", ".join(
    f"count(*) FILTER (WHERE entered_{n}), count(*) FILTER (WHERE reached_{n})"
    for n in range(len(FUNNEL_STEPS))
)

# $1, $2: the window of creation; $3: the group (NULL: one group ''); $4: the key of leads without one;
# $5, $6: disqualified categories and reasons; $7: now; $8-$10: the staleness limits per category.
# Every row is (kind, grp, key, counts, lower_us, upper_us, ord); ord orders the keys of one kind as a
# report lists them: by the first lead (in order of its first history row) that has the key.
REFERENCE = f"""
WITH history AS (
    SELECT h.id, h.lead_id, h.to_status, h.category, h.at, h.reason_code,
           CASE WHEN $3::text IS NULL THEN '' ELSE coalesce(nullif(CASE $3::text
               WHEN 'source' THEN l.touch->>'source_system'
               WHEN 'campaign' THEN coalesce(l.touch->'campaign'->>'utm_campaign',
                                             l.touch->'campaign'->>'campaign_name')
               ELSE l.owner END, ''), $4) END AS grp
    FROM leads l JOIN status_history h ON h.lead_id = l.id
    WHERE l.created_at >= $1 AND l.created_at < $2 AND l.merged_into IS NULL
), steps AS (
    SELECT *, min(id) OVER by_lead AS first_id, row_number() OVER in_order AS step,
           lead(at) OVER in_order AS next_at,
           min(at) FILTER (WHERE category = 'open') OVER by_lead AS opened
    FROM history
    WINDOW by_lead AS (PARTITION BY lead_id), in_order AS (PARTITION BY lead_id ORDER BY at, id)
), leads AS (
    SELECT grp, min(first_id) AS first_id,
           min(to_status) FILTER (WHERE next_at IS NULL) AS status,
           min(category) FILTER (WHERE next_at IS NULL) AS category,
           extract(epoch FROM $7 - min(at) FILTER (WHERE next_at IS NULL))::float8 / 3600 AS idle_hours,
           (extract(epoch FROM min(at) FILTER (WHERE category = 'contacted' AND at >= opened) - min(opened))
               * 1000000)::bigint AS to_contact_us,
           {_STEPS}
    FROM steps GROUP BY lead_id, grp
), idle AS (
    SELECT l.grp, l.idle_hours >= lim.stale_after AS stale,
           coalesce(l.idle_hours >= lim.unresponsive_after, false) AS unresponsive
    FROM leads l
    JOIN unnest($8::text[], $9::float8[], $10::float8[]) AS lim (category, stale_after, unresponsive_after)
        USING (category)
), spans AS (
    SELECT grp, to_status, first_id, step, (extract(epoch FROM next_at - at) * 1000000)::bigint AS us
    FROM steps WHERE next_at IS NOT NULL
)
SELECT 'leads' AS kind, grp, NULL AS key, ARRAY[count(*), {_STEP_COUNTS}, count(to_contact_us)] AS counts,
       (array_agg(to_contact_us ORDER BY to_contact_us) FILTER (WHERE to_contact_us IS NOT NULL))
           [(count(to_contact_us) + 1) / 2] AS lower_us,
       (array_agg(to_contact_us ORDER BY to_contact_us) FILTER (WHERE to_contact_us IS NOT NULL))
           [count(to_contact_us) / 2 + 1] AS upper_us,
       NULL::bigint[] AS ord
FROM leads GROUP BY grp
UNION ALL
SELECT 'idle', grp, NULL,
       ARRAY[count(*) FILTER (WHERE stale AND NOT unresponsive), count(*) FILTER (WHERE unresponsive)],
       NULL, NULL, NULL
FROM idle GROUP BY grp
UNION ALL
SELECT 'status', grp, status, ARRAY[count(*)], NULL, NULL, ARRAY[min(first_id)]
FROM leads GROUP BY grp, status
UNION ALL
SELECT 'category', grp, category, ARRAY[count(*)], NULL, NULL, ARRAY[min(first_id)]
FROM leads GROUP BY grp, category
UNION ALL
SELECT 'in_status', grp, to_status, ARRAY[count(*)],
       (array_agg(us ORDER BY us))[(count(*) + 1) / 2], (array_agg(us ORDER BY us))[count(*) / 2 + 1],
       min(ARRAY[first_id, step])
FROM spans GROUP BY grp, to_status
UNION ALL
SELECT 'reason', grp, reason_code, ARRAY[count(DISTINCT lead_id)], NULL, NULL, ARRAY[min(first_id)]
FROM steps WHERE category = ANY($5::text[]) AND reason_code = ANY($6::text[]) GROUP BY grp, reason_code
"""


async def reference(
    conn: asyncpg.Connection, start: datetime, end: datetime, by: GroupBy | None, limits: StalenessLimits
) -> dict[str, FunnelFigures]:
    """The figures the original statement, over every history row of the window's leads, gives."""
    async with conn.transaction():
        await conn.execute("SET LOCAL jit = off")
        rows = await conn.fetch(
            REFERENCE,
            start,
            end,
            by.value if by else None,
            NO_GROUP,
            sorted(c.value for c in DISQUALIFIED),
            sorted(REASONS),
            NOW,
            [c.value for c in limits.limits],
            [limit.stale_after_hours for limit in limits.limits.values()],
            [limit.unresponsive_after_hours for limit in limits.limits.values()],
        )
    groups: dict[str, FunnelFigures] = defaultdict(FunnelFigures)
    for row in sorted(rows, key=lambda r: (r["ord"] or [], r["key"] or "")):
        figures, key, counts = groups[row["grp"]], row["key"], row["counts"]
        match row["kind"]:
            case "leads":
                figures.leads = counts[0]
                figures.steps = {
                    step: (counts[1 + 2 * n], counts[2 + 2 * n]) for n, step in enumerate(FUNNEL_STEPS)
                }
                if row["lower_us"] is not None:
                    figures.to_first_contact = Middles(counts[-1], row["lower_us"], row["upper_us"])
            case "idle":
                figures.stale, figures.unresponsive = counts
            case "status":
                figures.by_status[key] = counts[0]
            case "category":
                figures.by_category[BaseCategory(key)] = counts[0]
            case "in_status":
                figures.in_status[key] = Middles(counts[0], row["lower_us"], row["upper_us"])
            case "reason":
                figures.disqualification_reasons[key] = counts[0]
    return dict(groups)


# The statement that read the facts of every lead of the window before the cells (adapters/kpis.py up to
# migration 0004): $1, $2: the window; $3: the group (NULL: one group ''); $4: the key of leads without one;
# $5: the disqualification reasons; $6-$8: per category with a staleness limit, the latest last change of a
# stale lead and of an unresponsive one.
_FACT_STEPS = ", ".join(
    f"{a}_first IS NOT NULL AS entered_{n}, coalesce({b}_last >= {a}_first, false) AS reached_{n}"
    for n, (a, b) in enumerate(FUNNEL_STEPS)
)
FACTS_REFERENCE = f"""
WITH facts AS NOT MATERIALIZED (
    SELECT CASE WHEN $3::text IS NULL THEN '' ELSE coalesce(nullif(CASE $3::text
               WHEN 'source' THEN source WHEN 'campaign' THEN campaign ELSE owner END, ''), $4) END AS grp,
           first_id, status, category, last_at, to_contact_us, reasons, span_status, span_us, {_FACT_STEPS}
    FROM funnel_leads WHERE created_at >= $1 AND created_at < $2 AND NOT merged
), leads AS (
    SELECT f.*, f.last_at <= lim.stale_since AS stale,
           coalesce(f.last_at <= lim.unresponsive_since, false) AS unresponsive
    FROM facts f
    LEFT JOIN unnest($6::text[], $7::timestamptz[], $8::timestamptz[]) AS lim (category, stale_since,
                                                                               unresponsive_since)
        USING (category)
), spans AS (
    SELECT grp, first_id, unnest(span_status) AS to_status, unnest(span_us) AS us,
           generate_series(1, cardinality(span_us)) AS step
    FROM facts WHERE span_us IS NOT NULL
), reasons AS (
    SELECT grp, first_id, unnest(reasons) AS code FROM facts WHERE reasons IS NOT NULL
)
SELECT 'leads' AS kind, grp, status AS key, category,
       ARRAY[count(*), {_STEP_COUNTS}, count(*) FILTER (WHERE stale AND NOT unresponsive),
             count(*) FILTER (WHERE unresponsive)] AS counts,
       NULL::bigint AS lower_us, NULL::bigint AS upper_us, ARRAY[min(first_id)] AS ord
FROM leads GROUP BY grp, status, category
UNION ALL
SELECT 'to_contact', grp, NULL, NULL, ARRAY[count(*)],
       (array_agg(to_contact_us ORDER BY to_contact_us))[(count(*) + 1) / 2],
       (array_agg(to_contact_us ORDER BY to_contact_us))[count(*) / 2 + 1], NULL
FROM facts WHERE to_contact_us IS NOT NULL GROUP BY grp
UNION ALL
SELECT 'in_status', grp, to_status, NULL, ARRAY[count(*)],
       (array_agg(us ORDER BY us))[(count(*) + 1) / 2], (array_agg(us ORDER BY us))[count(*) / 2 + 1],
       min(ARRAY[first_id, step])
FROM spans GROUP BY grp, to_status
UNION ALL
SELECT 'reason', grp, code, NULL, ARRAY[count(*)], NULL, NULL, ARRAY[min(first_id)]
FROM reasons WHERE code = ANY($5::text[]) GROUP BY grp, code
"""


async def facts_reference(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    by: GroupBy | None,
    now: datetime,
    limits: StalenessLimits,
) -> dict[str, FunnelFigures]:
    """The figures the statement over the facts of every lead of the window gives."""
    rows = await conn.fetch(
        FACTS_REFERENCE,
        start,
        end,
        by.value if by else None,
        NO_GROUP,
        sorted(REASONS),
        [c.value for c in limits.limits],
        [idle_since(now, limit.stale_after_hours) for limit in limits.limits.values()],
        [
            idle_since(now, limit.unresponsive_after_hours)
            if limit.unresponsive_after_hours is not None
            else None
            for limit in limits.limits.values()
        ],
    )
    return facts_figures(rows)


def facts_figures(rows: Sequence[asyncpg.Record]) -> dict[str, FunnelFigures]:
    """The figures of each group from the rows of FACTS_REFERENCE, keys in the order they report."""
    groups: dict[str, FunnelFigures] = defaultdict(FunnelFigures)
    for row in sorted(rows, key=lambda r: (r["ord"] or [], r["key"] or "")):
        figures, key, counts = groups[row["grp"]], row["key"], row["counts"]
        match row["kind"]:
            case "leads":
                category = BaseCategory(row["category"])
                figures.leads += counts[0]
                figures.by_status[key] = figures.by_status.get(key, 0) + counts[0]
                figures.by_category[category] = figures.by_category.get(category, 0) + counts[0]
                for n, step in enumerate(FUNNEL_STEPS):
                    entered, reached = figures.steps.get(step, (0, 0))
                    figures.steps[step] = (entered + counts[1 + 2 * n], reached + counts[2 + 2 * n])
                figures.stale += counts[-2]
                figures.unresponsive += counts[-1]
            case "to_contact":
                figures.to_first_contact = Middles(counts[0], row["lower_us"], row["upper_us"])
            case "in_status":
                figures.in_status[key] = Middles(counts[0], row["lower_us"], row["upper_us"])
            case "reason":
                figures.disqualification_reasons[key] = counts[0]
    return dict(groups)


def in_order(groups: dict[str, FunnelFigures]) -> dict[str, tuple[Any, ...]]:
    """The figures with every dict as its list of items, so that comparing them compares the key order too."""
    return {
        grp: (
            f.leads,
            list(f.by_status.items()),
            list(f.by_category.items()),
            list(f.steps.items()),
            f.to_first_contact,
            list(f.in_status.items()),
            f.stale,
            f.unresponsive,
            list(f.disqualification_reasons.items()),
        )
        for grp, f in groups.items()
    }


def touch(rng: random.Random) -> dict[str, Any] | None:
    source = rng.choice(["hubspot", "linkedin", "", None])
    campaign = rng.choice(
        [{"utm_campaign": "black-friday"}, {"campaign_name": "spring"}, {"utm_campaign": ""}, {}]
    )
    if source is None:
        return None
    return {"source_system": source, "channel": "web_form", "campaign": campaign}


def history(rng: random.Random, created: datetime) -> list[tuple[str, str, datetime, str | None]]:
    """Some status changes, not in time order, some of them at the same moment."""
    steps = []
    at = created
    for _ in range(rng.choice([1, 1, 2, 3, 4, 6])):
        status, category = rng.choice(STATUSES)
        at = rng.choice(
            [at, at + timedelta(hours=rng.expovariate(1 / 30)), created + timedelta(hours=rng.uniform(0, 90))]
        )
        steps.append((status, category, at, rng.choice(CODES)))
    return steps


async def add_history(
    conn: asyncpg.Connection, rows: list[tuple[uuid.UUID, str, str, datetime, str | None]]
) -> None:
    await conn.execute(
        "INSERT INTO status_history (lead_id, to_status, category, reason, actor, at, reason_code)"
        " SELECT lead_id, status, category, 'journey', 'test', at, code"
        " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])"
        " AS h (lead_id, status, category, at, code)",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        [r[4] for r in rows],
    )


async def add_random_leads(
    conn: asyncpg.Connection,
    rng: random.Random,
    ids: list[uuid.UUID],
    quiet: list[uuid.UUID],
    first: datetime,
    hours: float,
    one_by_one: int = 0,
) -> None:
    """Leads created over `hours` from `first`, those of `ids` with a random history written in many leads
    per statement (as a batch writes them), then by COPY, then the last `one_by_one` rows one at a time."""
    await conn.executemany(
        "INSERT INTO leads (id, status, category, profile, touch, owner, created_at)"
        " VALUES ($1, 'open', 'open', '{}', $2, $3, $4)",
        [
            (
                lead_id,
                touch(rng),
                rng.choice(["lena", "jonas", "", None]),
                first + timedelta(hours=rng.uniform(0, hours)),
            )
            for lead_id in ids + quiet
        ],
    )
    created = dict(await conn.fetch("SELECT id, created_at FROM leads WHERE id = ANY($1)", ids))
    changes = [(lead_id, *step) for lead_id in ids for step in history(rng, created[lead_id])]
    rng.shuffle(changes)
    await add_history(conn, changes[: len(changes) // 2])
    await conn.copy_records_to_table(
        "status_history",
        columns=["lead_id", "to_status", "category", "at", "reason_code", "reason", "actor"],
        records=[(*c, "copied", "test") for c in changes[len(changes) // 2 : len(changes) - one_by_one]],
    )
    for change in changes[len(changes) - one_by_one :]:
        await add_history(conn, [change])


async def add_idle_edges(conn: asyncpg.Connection, ids: list[uuid.UUID], now: datetime) -> None:
    """Ten leads created and last changed exactly as long before `now` as a staleness limit, or 1 µs less."""
    edges: list[tuple[uuid.UUID, str, str, datetime, str | None]] = [
        (lead_id, status, category, now - timedelta(hours=hours, microseconds=extra), None)
        for lead_id, (status, category, hours, extra) in zip(
            ids,
            [
                (status, category, hours, extra)
                for status, category, hours in (
                    ("new", "open", 150),
                    ("meeting", "contacted", 120),
                    ("contacted", "contacted", 170),
                    ("qualified", "qualified", 100.5),
                    ("qualified", "qualified", 180),
                )
                for extra in (0, -1)
            ],
            strict=True,
        )
    ]
    await conn.executemany("UPDATE leads SET created_at = $2 WHERE id = $1", [(e[0], e[3]) for e in edges])
    await add_history(conn, edges)


@pytest_asyncio.fixture(scope="module")
async def leads(pool: asyncpg.Pool) -> AsyncIterator[list[uuid.UUID]]:
    """Random leads over four days, their histories written in every way the facts must follow."""
    rng = random.Random(7)
    ids = [uuid.uuid4() for _ in range(160)]
    async with pool.acquire() as conn:
        await add_random_leads(conn, rng, ids[:150], ids[150:], BASE, hours=96, one_by_one=20)
        # Leads whose last change is idle exactly as long as a staleness limit, and a microsecond less.
        await add_idle_edges(conn, ids[150:], NOW)
        # Leads change after their history was written: merged, reassigned, re-attributed, re-dated.
        await conn.execute("UPDATE leads SET merged_into = $2 WHERE id = $1", ids[0], ids[1])
        await conn.execute("UPDATE leads SET owner = 'grace' WHERE id = ANY($1)", ids[2:6])
        await conn.execute("UPDATE leads SET touch = $2 WHERE id = $1", ids[6], touch(rng))
        await conn.execute(
            "UPDATE leads SET created_at = created_at - interval '2 days' WHERE id = $1", ids[7]
        )
        # History corrected and removed.
        await conn.execute(
            "UPDATE status_history SET at = at + interval '3 hours' WHERE lead_id = $1", ids[8]
        )
        await conn.execute("DELETE FROM status_history WHERE lead_id = $1", ids[9])
        await conn.execute(
            "DELETE FROM status_history WHERE id = (SELECT max(id) FROM status_history WHERE lead_id = $1)",
            ids[10],
        )
    yield ids
    await pool.execute("DELETE FROM status_history WHERE lead_id = ANY($1)", ids)
    await pool.execute("DELETE FROM leads WHERE id = ANY($1)", ids)


@pytest.mark.parametrize("by", [None, *GroupBy])
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (BASE - timedelta(days=3), BASE + timedelta(days=5)),  # every lead
        (BASE + timedelta(hours=7.5), BASE + timedelta(hours=80.25)),  # partial days at both edges
        (BASE + timedelta(hours=30), BASE + timedelta(hours=31)),  # within one day
        (BASE + timedelta(days=30), BASE + timedelta(days=31)),  # no leads
    ],
)
async def test_the_facts_give_the_figures_of_the_whole_history(
    pool: asyncpg.Pool, leads: list[uuid.UUID], start: datetime, end: datetime, by: GroupBy | None
) -> None:
    async with pool.acquire() as conn:
        expected = await reference(conn, start, end, by, LIMITS)
        actual = await kpis.funnel_figures(conn, start, end, by, NOW, LIMITS)

    assert in_order(actual) == in_order(expected)


async def test_the_facts_follow_the_status_changes_the_service_writes(pool: asyncpg.Pool) -> None:
    ids = [uuid.uuid4() for _ in range(6)]
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO leads (id, status, category, profile, owner) VALUES ($1, 'open', 'open', '{}', $2)",
            [(lead_id, "lena" if n % 2 else None) for n, lead_id in enumerate(ids)],
        )
        # One statement for many leads, several changes of one lead among them; then one change alone.
        await repo.change_statuses(
            conn,
            [
                *(repo.StatusChange(i, None, "open", "open", "captured", None, "test") for i in ids),
                repo.StatusChange(ids[0], "open", "contacted", "contacted", "call", None, "test"),
                repo.StatusChange(ids[0], "contacted", "qualified", "qualified", "rule", None, "test"),
                repo.StatusChange(ids[1], "open", "archived", "archived", "not icp", "not_icp", "test"),
            ],
        )
        await repo.change_statuses(
            conn, [repo.StatusChange(ids[2], "open", "nurturing", "nurturing", "later", "no_budget", "test")]
        )
        await repo.mark_merged(conn, ids[3], ids[4])
        await repo.set_owner(conn, ids[5], "jonas", "emea")
        now = datetime.now(UTC)
        for by in (None, *GroupBy):
            # around now: the leads the other tests of the session wrote through the service count too
            window = (now - timedelta(days=1), now + timedelta(days=1))
            expected = await reference(conn, *window, by, LIMITS)
            actual = await kpis.funnel_figures(conn, *window, by, NOW, LIMITS)

            assert in_order(actual) == in_order(expected)
    await pool.execute("DELETE FROM status_history WHERE lead_id = ANY($1)", ids)
    await pool.execute("DELETE FROM leads WHERE id = ANY($1)", ids)


# Six weeks of leads, a year before the other windows, so that nodes of several levels serve a window.
WEEKS = datetime(2020, 1, 3, 5, tzinfo=UTC)
WEEKS_NOW = WEEKS + timedelta(days=44)


@pytest_asyncio.fixture(scope="module")
async def weeks(pool: asyncpg.Pool) -> AsyncIterator[list[uuid.UUID]]:
    """Random leads over six weeks, some merged, some idle exactly as long as a staleness limit."""
    rng = random.Random(11)
    ids = [uuid.uuid4() for _ in range(400)]
    async with pool.acquire() as conn:
        await add_random_leads(conn, rng, ids[:380], ids[380:], WEEKS, hours=42 * 24)
        await add_idle_edges(conn, ids[380:390], WEEKS_NOW)
        await conn.executemany(
            "UPDATE leads SET merged_into = $2 WHERE id = $1", [(ids[n], ids[n + 1]) for n in range(0, 40, 4)]
        )
    yield ids
    await pool.execute("DELETE FROM status_history WHERE lead_id = ANY($1)", ids)
    await pool.execute("DELETE FROM leads WHERE id = ANY($1)", ids)


WEEKS_WINDOWS = [
    (WEEKS - timedelta(hours=5), WEEKS + timedelta(days=42, hours=19)),  # whole days only
    (WEEKS + timedelta(hours=7.5), WEEKS + timedelta(days=40, hours=2.25)),  # partial days at both edges
    (WEEKS + timedelta(days=9, hours=1), WEEKS + timedelta(days=25, hours=23)),  # the middle
    (WEEKS + timedelta(days=3, hours=1), WEEKS + timedelta(days=3, hours=13)),  # within one day
    (WEEKS - timedelta(days=700), WEEKS + timedelta(days=300)),  # longer than the longest node
]


async def assert_same_figures(conn: asyncpg.Connection, start: datetime, end: datetime) -> None:
    for by in (None, *GroupBy):
        expected = await facts_reference(conn, start, end, by, WEEKS_NOW, LIMITS)
        actual = await kpis.funnel_figures(conn, start, end, by, WEEKS_NOW, LIMITS)

        assert in_order(actual) == in_order(expected), (start, end, by)


async def keep_all(pool: asyncpg.Pool) -> None:
    """Let the job catch up in one round."""
    kept = await funnel_cells.keep_cells(pool, max_days=100_000, max_nodes=100_000)

    assert (kept.rounds, kept.more, kept.skipped) == (1, False, False)


async def cells_state(conn: asyncpg.Connection) -> tuple[list[Any], ...]:
    """Every row of the tables the job keeps, in order."""
    state = []
    for table, order in (
        ("funnel_dirty", "day"),
        ("funnel_nodes", "lvl, node"),
        ("funnel_cells", "lvl, node, gkind, grp, item, key, category, bucket"),
        ("funnel_day_spans", "day, kind, key, bucket, us, source, campaign, owner"),
        ("funnel_last_changes", "day, category, hour"),
    ):
        state.append([tuple(r) for r in await conn.fetch(f"SELECT * FROM {table} ORDER BY {order}")])
    return tuple(state)


async def served_from_the_cells(conn: asyncpg.Connection, start: datetime, end: datetime) -> bool:
    """Whether every whole day of the window is read from built, unchanged nodes."""
    start = max(start, await conn.fetchval("SELECT min(created_at) FROM funnel_leads WHERE NOT merged"))
    first, stop = day_of(start), day_of(end)
    first += day_start(first) < start
    built = {(r["lvl"], r["node"]) for r in await conn.fetch("SELECT lvl, node FROM funnel_nodes")}
    changed = {r["day"] for r in await conn.fetch("SELECT day FROM funnel_dirty")}
    usable, days = usable_nodes(nodes_covering(first, stop), built, changed)
    return bool(usable) and not days


async def change_some(conn: asyncpg.Connection, rng: random.Random, ids: list[uuid.UUID]) -> None:
    """New changes, a merge, a new owner, a new creation day and a removed change, each on other days."""
    await add_history(
        conn,
        [
            (lead_id, *rng.choice(STATUSES), WEEKS + timedelta(days=rng.uniform(0, 43)), rng.choice(CODES))
            for lead_id in rng.sample(ids, 30)
        ],
    )
    one, other, third, fourth, fifth = rng.sample(ids[40:380], 5)
    await conn.execute("UPDATE leads SET merged_into = $2 WHERE id = $1", one, other)
    await conn.execute("UPDATE leads SET owner = 'grace' WHERE id = $1", third)
    await conn.execute("UPDATE leads SET created_at = created_at + interval '9 days' WHERE id = $1", fourth)
    await conn.execute(
        "DELETE FROM status_history WHERE id = (SELECT min(id) FROM status_history WHERE lead_id = $1)", fifth
    )


async def test_the_cells_follow_the_changes_made_after_they_were_built(
    pool: asyncpg.Pool, weeks: list[uuid.UUID]
) -> None:
    rng = random.Random(3)
    async with pool.acquire() as conn:
        for start, end in WEEKS_WINDOWS[:3]:
            await keep_all(pool)
            await change_some(conn, rng, weeks)
            await assert_same_figures(conn, start, end)
            await keep_all(pool)
            await assert_same_figures(conn, start, end)


async def test_days_changed_after_the_job_ran_are_counted_from_the_facts(
    pool: asyncpg.Pool, weeks: list[uuid.UUID]
) -> None:
    start, end = WEEKS_WINDOWS[1]
    await keep_all(pool)
    async with pool.acquire() as conn:
        await change_some(conn, random.Random(5), weeks)

        assert await conn.fetchval("SELECT count(DISTINCT day) FROM funnel_dirty") >= 5
        await assert_same_figures(conn, start, end)


async def test_a_transaction_notes_each_changed_day_once(pool: asyncpg.Pool, weeks: list[uuid.UUID]) -> None:
    await keep_all(pool)
    async with pool.acquire() as conn:
        async with conn.transaction():
            for lead_id in weeks[100:110]:
                await add_history(conn, [(lead_id, "contacted", "contacted", WEEKS_NOW, None)])
            noted = await conn.fetch("SELECT day, count(*) FROM funnel_dirty GROUP BY day")
        created = await conn.fetch(
            "SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01' AS day"
            " FROM leads WHERE id = ANY($1)",
            weeks[100:110],
        )

    assert sorted(r["day"] for r in noted) == sorted(r["day"] for r in created)
    assert {r["count"] for r in noted} == {1}


@pytest.mark.parametrize(("start", "end"), WEEKS_WINDOWS)
async def test_the_cells_give_the_figures_of_the_facts_of_every_lead(
    pool: asyncpg.Pool, weeks: list[uuid.UUID], start: datetime, end: datetime
) -> None:
    await keep_all(pool)
    async with pool.acquire() as conn:
        await assert_same_figures(conn, start, end)


async def test_the_report_only_reads_whatever_state_the_cells_are_in(
    pool: asyncpg.Pool, weeks: list[uuid.UUID]
) -> None:
    rng = random.Random(13)
    async with pool.acquire() as conn, pool.acquire() as writer:
        await conn.execute("SET default_transaction_read_only = on")
        try:
            for state in ("never built", "partly built", "kept", "changed since"):
                if state == "never built":
                    await writer.execute(
                        "TRUNCATE funnel_nodes, funnel_cells, funnel_day_spans, funnel_last_changes"
                    )
                elif state == "partly built":
                    work = await kpis.keep_cells(writer, day_of(datetime.now(UTC)), max_days=3, max_nodes=3)
                    assert work is not None
                    assert work.more
                elif state == "kept":
                    await keep_all(pool)
                else:
                    await change_some(writer, rng, weeks)
                before = await cells_state(conn)

                for start, end in WEEKS_WINDOWS:
                    await assert_same_figures(conn, start, end)

                assert await cells_state(conn) == before, state
        finally:
            await conn.execute("RESET default_transaction_read_only")


async def test_after_the_job_whole_days_are_read_from_the_cells(
    pool: asyncpg.Pool, weeks: list[uuid.UUID]
) -> None:
    await keep_all(pool)
    async with pool.acquire() as conn:
        for start, end in WEEKS_WINDOWS[:3]:
            assert await served_from_the_cells(conn, start, end), (start, end)
        assert (
            await conn.fetchval("SELECT count(*) FROM funnel_dirty WHERE day < $1", day_of(datetime.now(UTC)))
            == 0
        )


async def test_a_round_with_a_small_limit_does_part_of_the_work_and_the_next_round_the_rest(
    pool: asyncpg.Pool, weeks: list[uuid.UUID]
) -> None:
    today = day_of(datetime.now(UTC))
    await keep_all(pool)
    async with pool.acquire() as conn:
        await change_some(conn, random.Random(17), weeks)
        changed = sorted(
            {r["day"] for r in await conn.fetch("SELECT day FROM funnel_dirty WHERE day < $1", today)}
        )
        half = (len(changed) + 1) // 2
        assert half >= 3

        first = await kpis.keep_cells(conn, today, max_days=half, max_nodes=10_000)

        assert first is not None
        assert first.more
        assert first.forget == changed[::-1][:half]
        left = sorted({r["day"] for r in await conn.fetch("SELECT day FROM funnel_dirty")})
        assert [day for day in left if day < today] == changed[: len(changed) - half]
        assert not await served_from_the_cells(conn, *WEEKS_WINDOWS[0])
        await assert_same_figures(conn, *WEEKS_WINDOWS[0])

        second = await kpis.keep_cells(conn, today, max_days=half, max_nodes=10_000)

        assert second is not None
        assert not second.more
        assert sorted(second.forget) == sorted(set(left))
        assert await served_from_the_cells(conn, *WEEKS_WINDOWS[0])
        await assert_same_figures(conn, *WEEKS_WINDOWS[0])


async def test_a_round_skips_while_another_round_holds_the_lock(
    pool: asyncpg.Pool, weeks: list[uuid.UUID]
) -> None:
    today = day_of(datetime.now(UTC))
    async with pool.acquire() as holder, pool.acquire() as other:
        await change_some(holder, random.Random(19), weeks)
        before = await cells_state(other)
        async with holder.transaction():
            assert await holder.fetchval(kpis.TRY_LOCK)

            assert await kpis.keep_cells(other, today, 100_000, 100_000) is None
            assert (await funnel_cells.keep_cells(pool, 100_000, 100_000)).skipped
            assert await cells_state(other) == before

        kept = await kpis.keep_cells(other, today, 100_000, 100_000)

        assert kept is not None
        assert kept.done


async def test_two_rounds_at_once_never_both_work(pool: asyncpg.Pool, weeks: list[uuid.UUID]) -> None:
    today = day_of(datetime.now(UTC))
    await keep_all(pool)
    for seed in range(3):
        async with pool.acquire() as one, pool.acquire() as two:
            await change_some(one, random.Random(23 + seed), weeks)
            works = await asyncio.gather(
                kpis.keep_cells(one, today, 100_000, 100_000), kpis.keep_cells(two, today, 100_000, 100_000)
            )

        # one round did it all: the other skipped, or found nothing left
        assert sum(1 for work in works if work is not None and work.done) == 1
    async with pool.acquire() as conn:
        assert await served_from_the_cells(conn, *WEEKS_WINDOWS[0])
        await assert_same_figures(conn, *WEEKS_WINDOWS[0])


async def test_today_is_rebuilt_only_once_it_has_been_still_and_a_window_past_the_last_lead_reads_it_whole(
    pool: asyncpg.Pool, weeks: list[uuid.UUID]
) -> None:
    rng = random.Random(23)
    ids = [uuid.uuid4() for _ in range(30)]
    now = datetime.now(UTC)
    today = day_of(now)
    window = (now - timedelta(days=3), now + timedelta(hours=1))
    await keep_all(pool)
    try:
        async with pool.acquire() as conn:
            await add_random_leads(
                conn, rng, ids, [], max(day_start(today), now - timedelta(hours=2)), hours=0.5
            )
            assert await conn.fetchval("SELECT count(*) FROM funnel_dirty WHERE day = $1", today) > 0

            still = await kpis.keep_cells(conn, today, 100_000, 100_000, settle_s=3600)

            assert still is not None
            assert today not in still.forget
            assert await conn.fetchval("SELECT count(*) FROM funnel_dirty WHERE day = $1", today) > 0
            await assert_same_figures(conn, *window)

            settled = await kpis.keep_cells(conn, today, 100_000, 100_000, settle_s=0)

            assert settled is not None
            assert today in settled.forget
            assert today in settled.days
            assert await conn.fetchval("SELECT count(*) FROM funnel_dirty") == 0
            await assert_same_figures(conn, *window)
            await assert_same_figures(conn, now - timedelta(days=900), now + timedelta(days=1))
    finally:
        await pool.execute("DELETE FROM status_history WHERE lead_id = ANY($1)", ids)
        await pool.execute("DELETE FROM leads WHERE id = ANY($1)", ids)


async def test_the_buckets_the_report_does_not_read_hold_one_duration_in_the_database_too(
    pool: asyncpg.Pool,
) -> None:
    durations = [*range(0, 300), *random.Random(5).sample(range(300, 10**12), 2000), 10**15]
    rows = await pool.fetch(
        "SELECT us, funnel_bucket(us) AS bucket FROM unnest($1::bigint[]) AS u (us)", durations
    )

    for row in rows:
        assert row["bucket"] == bisect.bisect_right(BUCKET_THRESHOLDS, row["us"]), row
        assert bucket_value(row["bucket"]) in (None, row["us"]), row
