"""Funnel figures of the leads created in a window: whole days from the cells kept per run of days, the rest
from the per-lead facts (migrations 0004 and 0005); and the rounds that keep the cells."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import IntEnum

import asyncpg

from leadflow_qualification.domain.funnel import (
    FUNNEL_STEPS,
    NO_GROUP,
    REASONS,
    CellsWork,
    FunnelFigures,
    GroupBy,
    Middles,
    bucket_of_rank,
    bucket_value,
    cells_work,
    day_of,
    day_start,
    idle_since,
    middle_ranks,
    nodes_covering,
    usable_nodes,
)
from leadflow_qualification.domain.staleness import StalenessLimits
from leadflow_qualification.domain.statuses import BaseCategory


class Item(IntEnum):
    """What a row of funnel_cells counts (migration 0005)."""

    LEADS = 0
    ENTERED = 1
    REACHED = 2
    REASON = 3
    TO_CONTACT = 4
    IN_STATUS = 5


# The kinds of durations in funnel_day_spans.
CONTACT_SPAN, STATUS_SPAN = 0, 1
GROUP_KINDS = {None: 0, GroupBy.SOURCE: 1, GroupBy.CAMPAIGN: 2, GroupBy.OWNER: 3}
GROUP_COLUMNS = {GroupBy.SOURCE: "source", GroupBy.CAMPAIGN: "campaign", GroupBy.OWNER: "owner"}

# Each statement reads a few thousand rows: starting workers or compiling (JIT) would cost more than they
# save. Generic plans would guess how recent the staleness limits are, and read the whole window.
SETTINGS = (
    "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0;"
    " SET LOCAL plan_cache_mode = force_custom_plan"
)

# One round keeps the cells at a time; the others skip theirs rather than wait.
TRY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('funnel cells of ' || current_schema()))"
# The built nodes that overlap the days [$1, $2).
_BUILT = """
SELECT lvl, node FROM funnel_nodes WHERE (node + 1)::bigint << lvl > $1 AND node::bigint << lvl < $2
"""
# The first and last moment of creation of the facts: no whole day outside them needs reading.
_SPAN = "SELECT min(created_at), max(created_at) FROM funnel_leads WHERE NOT merged"

# $1, $2: the nodes; $3, $4: the ranges counted from the facts; $5: the group kind; $6: the key of no group.
_CELLS = """
SELECT item, CASE WHEN grp = '' AND $5 <> 0 THEN $6 ELSE grp END AS grp, key, category, bucket,
       sum(n)::bigint AS n, min(ord) AS ord
FROM (
    SELECT c.grp, c.item, c.key, c.category, c.bucket, c.n, c.ord
    FROM unnest($1::smallint[], $2::int[]) AS u (lvl, node)
    JOIN funnel_cells c ON c.lvl = u.lvl AND c.node = u.node AND c.gkind = $5
    UNION ALL
    SELECT grp, item, key, category, bucket, n, ord FROM funnel_items($3, $4, ARRAY[$5::smallint])
) cells
GROUP BY 1, 2, 3, 4, 5
"""

# The window's leads of a group and category whose last change is later than the category's stale limit
# ($n + 1) and unresponsive limit ($n + 2): the others of the category are stale or unresponsive. One branch
# per category ($n), so that each reads the recent leads by the index on (category, last_at).
_RECENT = """
SELECT {grp} AS grp, f.category, count(*) FILTER (WHERE f.last_at > ${stale}) AS not_stale,
       count(*) FILTER (WHERE f.last_at > ${unresponsive}) AS responsive
FROM funnel_leads f
WHERE f.category = ${category} AND NOT f.merged AND f.last_at > least(${stale}, ${unresponsive})
      AND f.created_at >= $1 AND f.created_at < $2
GROUP BY 1, 2
"""

# Ungrouped, the same counts per (category $1, limit $2): the whole days built in [$3, $4) but $5 by the hour
# of the last change (migration 0006), the leads of the limit's own hour from the facts, and the ranges $6, $7
# from the facts.
_RECENT_BY_HOURS = """
WITH ranges AS MATERIALIZED (
    SELECT f.category, f.last_at
    FROM unnest($6::timestamptz[], $7::timestamptz[]) AS r (lo, hi)
    JOIN funnel_leads f ON f.created_at >= r.lo AND f.created_at < r.hi AND NOT f.merged
)
SELECT p.i,
       (SELECT coalesce(sum(x.n), 0) FROM funnel_last_changes x
        WHERE x.category = p.category AND x.hour > funnel_hour(p.since) AND x.day >= $3 AND x.day < $4
              AND x.day <> ALL($5::int[]))
     + (SELECT count(*) FROM funnel_leads f
        WHERE f.category = p.category AND NOT f.merged AND f.last_at > p.since
              AND f.last_at < funnel_hour_start(funnel_hour(p.since) + 1)
              AND f.created_at >= funnel_day_start($3) AND f.created_at < funnel_day_start($4)
              AND funnel_day(f.created_at) <> ALL($5::int[]))
     + (SELECT count(*) FROM ranges r WHERE r.category = p.category AND r.last_at > p.since) AS n
FROM unnest($1::text[], $2::timestamptz[]) WITH ORDINALITY AS p (category, since, i)
"""

# The value of each rank asked for ($1-$6: kind, key, bucket, group, rank from 1, how many from there) among
# the durations of that bucket and group: of the built days in [$7, $8) but $9, and of the ranges $10, $11
# from the facts. The database ranks them: only the middles travel, not the thousands of values of a dense
# bucket.
_RANKED = """
WITH live AS MATERIALIZED (
    SELECT s.kind, s.key, s.bucket, s.us, {live_grp} AS grp
    FROM funnel_values($10, $11) s
    WHERE (s.kind, s.key, s.bucket) IN (SELECT * FROM unnest($1::smallint[], $2::text[], $3::int[]))
)
SELECT w.i, ARRAY(
    SELECT u.us FROM (
        SELECT s.us FROM funnel_day_spans s
        WHERE s.kind = w.kind AND s.key = w.key AND s.bucket = w.bucket AND s.day >= $7 AND s.day < $8
              AND s.day <> ALL($9::int[]){span_filter}
        UNION ALL
        SELECT l.us FROM live l
        WHERE l.kind = w.kind AND l.key = w.key AND l.bucket = w.bucket AND l.grp = w.grp
    ) u
    ORDER BY u.us OFFSET w.rank - 1 LIMIT w.n
) AS us
FROM unnest($1::smallint[], $2::text[], $3::int[], $4::text[], $5::int[], $6::int[])
     WITH ORDINALITY AS w (kind, key, bucket, grp, rank, n, i)
"""


def _group(by: GroupBy | None, table: str, no_group: str) -> str:
    """The group of a row of `table`, `no_group` the parameter that names the group of rows without one."""
    if by is None:
        return "''"
    return f"coalesce(nullif({table}.{GROUP_COLUMNS[by]}, ''), {no_group})"


# The changed days to rebuild: every past one, and today once it has not changed for $2 seconds (while leads
# keep arriving, today is counted from the facts instead of being rebuilt at every round).
_SETTLED = """
SELECT day FROM funnel_dirty GROUP BY day HAVING day < $1 OR max(at) < now() - make_interval(secs => $2)
"""


async def keep_cells(
    conn: asyncpg.Connection, today: int, max_days: int, max_nodes: int, settle_s: float = 0.0
) -> CellsWork | None:
    """One round of keeping the cells, in one transaction: forget the days that changed (today only once it
    has been still for `settle_s`), then build days and nodes until every node up to `today` is built; None
    when another round holds the lock."""
    async with conn.transaction():
        if not await conn.fetchval(TRY_LOCK):
            return None
        await conn.execute(SETTINGS)
        earliest = await conn.fetchval(_SPAN)
        changed = [r["day"] for r in await conn.fetch(_SETTLED, today, settle_s)]
        built = {(r["lvl"], r["node"]) for r in await conn.fetch("SELECT lvl, node FROM funnel_nodes")}
        first = day_of(earliest) if earliest else None
        work = cells_work(first, today + 1, changed, built, max_days, max_nodes)
        if work.forget:
            await conn.execute("DELETE FROM funnel_dirty WHERE day = ANY($1)", work.forget)
            await conn.execute("SELECT funnel_forget_days($1)", work.forget)
        if work.days:
            await conn.execute("SELECT funnel_build_days($1)", work.days)
        for level in sorted({lvl for lvl, _ in work.nodes}):
            await conn.execute(
                "SELECT funnel_build_nodes($1, $2)", level, [n for lvl, n in work.nodes if lvl == level]
            )
    return work


async def funnel_figures(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    by: GroupBy | None,
    now: datetime,
    limits: StalenessLimits,
) -> dict[str, FunnelFigures]:
    """The figures of each group of the leads created in [start, end) (one group '' when not grouped).

    Only reads: whole days come from the nodes built and unchanged since, the rest from the facts.
    """
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute(SETTINGS)
        earliest, latest = await conn.fetchrow(_SPAN)
        if earliest is None or earliest >= end or latest < start:
            return {}
        # Days without facts count nothing: the window is read only where the facts are. A window that
        # reaches past the first or the last lead holds all of that lead's day: it counts as a whole day.
        whole_first, whole_last = start <= earliest, end > latest
        start, end = max(start, earliest), min(end, latest + timedelta(microseconds=1))
        first, stop = day_of(start), day_of(latest) + 1 if whole_last else day_of(end)
        first += (
            day_start(first) < start and not whole_first
        )  # the whole days of the window are [first, stop)
        nodes = nodes_covering(first, stop)
        if nodes:
            built = {(r["lvl"], r["node"]) for r in await conn.fetch(_BUILT, first, stop)}
            changed = {
                r["day"]
                for r in await conn.fetch(
                    "SELECT DISTINCT day FROM funnel_dirty WHERE day >= $1 AND day < $2", first, stop
                )
            }
            usable, live_days = usable_nodes(nodes, built, changed)
            ranges = [(start, min(end, day_start(first))), (max(start, day_start(stop)), end)]
            ranges += [(day_start(day), day_start(day + 1)) for day in live_days]
        else:
            usable, live_days, ranges = [], [], [(start, end)]
        ranges = [(lo, hi) for lo, hi in ranges if lo < hi]
        lows, highs = [lo for lo, _ in ranges], [hi for _, hi in ranges]
        gkind = GROUP_KINDS[by]
        cells = await conn.fetch(
            _CELLS, [lvl for lvl, _ in usable], [n for _, n in usable], lows, highs, gkind, NO_GROUP
        )
        groups = _figures(cells)
        # Without nodes, [first, stop) is empty: everything is counted from the ranges.
        days = (first, stop, live_days)
        await _count_idle(conn, groups, start, end, by, now, limits, days, (lows, highs))
        await _middles(conn, groups, cells, by, days, (lows, highs))
    return groups


def _figures(cells: Sequence[asyncpg.Record]) -> dict[str, FunnelFigures]:
    """The counts of each group, keys in the order of their first lead."""
    groups: dict[str, FunnelFigures] = defaultdict(FunnelFigures)
    steps: dict[str, dict[tuple[int, str], int]] = defaultdict(dict)
    for row in sorted(cells, key=lambda r: (r["ord"] or [], r["key"])):
        figures, key, n = groups[row["grp"]], row["key"], row["n"]
        match row["item"]:
            case Item.LEADS:
                category = BaseCategory(row["category"])
                figures.leads += n
                figures.by_status[key] = figures.by_status.get(key, 0) + n
                figures.by_category[category] = figures.by_category.get(category, 0) + n
            case Item.ENTERED | Item.REACHED:
                steps[row["grp"]][row["item"], key] = n
            case Item.REASON if key in REASONS:
                figures.disqualification_reasons[key] = n
    for grp, figures in groups.items():
        figures.steps = {
            step: (steps[grp].get((Item.ENTERED, str(n)), 0), steps[grp].get((Item.REACHED, str(n)), 0))
            for n, step in enumerate(FUNNEL_STEPS)
        }
    return {grp: figures for grp, figures in groups.items() if figures.leads}


async def _count_idle(
    conn: asyncpg.Connection,
    groups: dict[str, FunnelFigures],
    start: datetime,
    end: datetime,
    by: GroupBy | None,
    now: datetime,
    limits: StalenessLimits,
    days: tuple[int, int, list[int]],
    ranges: tuple[list[datetime], list[datetime]],
) -> None:
    """Stale and unresponsive leads: those of a category with a limit, less the ones changed since."""
    categories = list(limits.limits)
    stale_since = [idle_since(now, limits.limits[c].stale_after_hours) for c in categories]
    unresponsive_since = [
        idle_since(now, hours) if (hours := limits.limits[c].unresponsive_after_hours) is not None else None
        for c in categories
    ]
    if by is None:
        recent = await _count_recent_by_hours(conn, categories, stale_since, unresponsive_since, days, ranges)
    else:
        recent = await _count_recent(conn, start, end, by, categories, stale_since, unresponsive_since)
    for grp, figures in groups.items():
        for category, since in zip(categories, unresponsive_since, strict=True):
            total = figures.by_category.get(category, 0)
            not_stale, responsive = recent.get((grp, category.value), (0, 0))
            stale = total - not_stale
            unresponsive = total - responsive if since is not None else 0
            figures.stale += stale - unresponsive
            figures.unresponsive += unresponsive


async def _count_recent(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    by: GroupBy,
    categories: list[BaseCategory],
    stale_since: list[datetime],
    unresponsive_since: list[datetime | None],
) -> dict[tuple[str, str], tuple[int, int]]:
    """Per group and category, the window's leads changed after the stale and the unresponsive limit."""
    heads = [start, end, NO_GROUP]
    branches = [
        _RECENT.format(grp=_group(by, "f", "$3"), category=n, stale=n + 1, unresponsive=n + 2)
        for n in range(len(heads) + 1, len(heads) + 1 + 3 * len(categories), 3)
    ]
    parameters = [
        # without an unresponsive limit, the stale limit bounds the leads read
        value
        for c, stale, unresponsive in zip(categories, stale_since, unresponsive_since, strict=True)
        for value in (c.value, stale, unresponsive or stale)
    ]
    rows = await conn.fetch(" UNION ALL ".join(branches), *heads, *parameters) if branches else []
    return {(r["grp"], r["category"]): (r["not_stale"], r["responsive"]) for r in rows}


async def _count_recent_by_hours(
    conn: asyncpg.Connection,
    categories: list[BaseCategory],
    stale_since: list[datetime],
    unresponsive_since: list[datetime | None],
    days: tuple[int, int, list[int]],
    ranges: tuple[list[datetime], list[datetime]],
) -> dict[tuple[str, str], tuple[int, int]]:
    """Ungrouped, per category, the window's leads changed after the stale and the unresponsive limit."""
    limits = [
        (category.value, since)
        for category, stale, unresponsive in zip(categories, stale_since, unresponsive_since, strict=True)
        for since in (stale, unresponsive or stale)
    ]
    if not limits:
        return {}
    rows = await conn.fetch(_RECENT_BY_HOURS, [c for c, _ in limits], [s for _, s in limits], *days, *ranges)
    counts = [row["n"] for row in sorted(rows, key=lambda r: r["i"])]
    return {("", category): (counts[2 * n], counts[2 * n + 1]) for n, (category, _) in enumerate(limits[::2])}


async def _middles(
    conn: asyncpg.Connection,
    groups: dict[str, FunnelFigures],
    cells: Sequence[asyncpg.Record],
    by: GroupBy | None,
    days: tuple[int, int, list[int]],
    ranges: tuple[list[datetime], list[datetime]],
) -> None:
    """The exact middle durations: the histograms name the bucket and rank of each middle, which the database
    picks among that bucket's values (or which the bucket fixes, when it can hold one duration only)."""
    histograms: dict[tuple[str, int, str], dict[int, int]] = defaultdict(dict)
    ords: dict[tuple[str, int, str], list[int]] = {}
    for row in cells:
        if row["item"] in (Item.TO_CONTACT, Item.IN_STATUS):
            kind = CONTACT_SPAN if row["item"] == Item.TO_CONTACT else STATUS_SPAN
            histograms[row["grp"], kind, row["key"]][row["bucket"]] = row["n"]
            if kind == STATUS_SPAN:
                metric = (row["grp"], kind, row["key"])
                ords[metric] = min(ords.get(metric, row["ord"]), row["ord"])
    wanted: dict[tuple[str, int, str], tuple[int, tuple[tuple[int, int], tuple[int, int]]]] = {}
    for metric, histogram in histograms.items():
        count = sum(histogram.values())
        lower, upper = middle_ranks(count)
        wanted[metric] = (count, (bucket_of_rank(histogram, lower), bucket_of_rank(histogram, upper)))
    # One request per bucket and group: the lower middle's rank, and whether the upper one follows it there.
    # A bucket that can hold one duration only (zero, say, which fills one when statuses change together)
    # needs no reading at all.
    values: dict[tuple[str, int, str, int, int], int] = {}
    requests: dict[tuple[int, str, int, str, int], int] = {}
    for (grp, kind, key), (_, (low, high)) in wanted.items():
        unread = []
        for bucket, rank in (low, high):
            if (value := bucket_value(bucket)) is None:
                unread.append((bucket, rank))
            else:
                values[grp, kind, key, bucket, rank] = value
        if unread == [low, (low[0], low[1] + 1)]:
            requests[kind, key, low[0], grp, low[1]] = 2
        else:
            for bucket, rank in unread:
                requests.setdefault((kind, key, bucket, grp, rank), 1)
    first, stop, live_days = days
    asked = list(requests)
    no_group = [NO_GROUP] if by else []
    statement = _RANKED.format(
        live_grp=_group(by, "s", "$12"),
        span_filter=f" AND {_group(by, 's', '$12')} = w.grp" if by else "",
    )
    rows = (
        await conn.fetch(
            statement,
            *([r[i] for r in asked] for i in range(5)),
            [requests[r] for r in asked],
            first,
            stop,
            live_days,
            *ranges,
            *no_group,
        )
        if asked
        else []
    )
    for row in rows:
        kind, key, bucket, grp, rank = asked[row["i"] - 1]
        for offset, us in enumerate(row["us"]):
            values[grp, kind, key, bucket, rank + offset] = us
    for metric in sorted(wanted, key=lambda m: (ords.get(m, []), m[2])):
        grp, kind, key = metric
        count, ((low_bucket, low_rank), (high_bucket, high_rank)) = wanted[metric]
        middles = Middles(
            count,
            values[grp, kind, key, low_bucket, low_rank],
            values[grp, kind, key, high_bucket, high_rank],
        )
        if kind == CONTACT_SPAN:
            groups[grp].to_first_contact = middles
        else:
            groups[grp].in_status[key] = middles
