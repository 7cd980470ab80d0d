"""Funnel figures counted in Postgres from the per-lead funnel facts of the leads created in a window."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from leadflow_qualification.domain.funnel import (
    FUNNEL_STEPS,
    NO_GROUP,
    REASONS,
    FunnelFigures,
    GroupBy,
    Middles,
    idle_since,
)
from leadflow_qualification.domain.staleness import StalenessLimits
from leadflow_qualification.domain.statuses import BaseCategory

# Sorting the durations of the window for their middles needs more than the default work_mem to stay off
# disk, and compiling the query (JIT) would cost more than it saves.
SETTINGS = "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off"

# Per funnel step: whether a lead entered the first category, and whether it entered the second later
# (funnel_leads keeps the first and last entry into each category of the steps: migration 0004).
_STEPS = ", ".join(
    f"{a}_first IS NOT NULL AS entered_{n}, coalesce({b}_last >= {a}_first, false) AS reached_{n}"
    for n, (a, b) in enumerate(FUNNEL_STEPS)
)
_STEP_COUNTS = ", ".join(
    f"count(*) FILTER (WHERE entered_{n}), count(*) FILTER (WHERE reached_{n})"
    for n in range(len(FUNNEL_STEPS))
)

# $1, $2: the window of creation; $3: the group (NULL: one group ''); $4: the key of leads without one;
# $5: the disqualification reasons (funnel_leads.reasons holds the reason codes a lead got in a DISQUALIFIED
# category); $6-$8: per category with a staleness limit, the latest last change of a stale lead and
# of an unresponsive one (NULL: never unresponsive).
# Every row is (kind, grp, key, category, counts, lower_us, upper_us, ord); ord orders the keys of one kind
# as a report lists them: by the first lead (in order of its first history row) that has the key. The
# leads are counted per status and category at once, and figures_of sums them up.
# Not materialized: each part scans the window's rows itself, in parallel workers where it can.
_FUNNEL = f"""
WITH facts AS NOT MATERIALIZED (
    SELECT CASE WHEN $3::text IS NULL THEN '' ELSE coalesce(nullif(CASE $3::text
               WHEN 'source' THEN source WHEN 'campaign' THEN campaign ELSE owner END, ''), $4) END AS grp,
           first_id, status, category, last_at, to_contact_us, reasons, span_status, span_us, {_STEPS}
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


async def funnel_figures(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    by: GroupBy | None,
    now: datetime,
    limits: StalenessLimits,
) -> dict[str, FunnelFigures]:
    """The figures of each group of the leads created in [start, end) (one group '' when not grouped)."""
    async with conn.transaction():
        await conn.execute(SETTINGS)
        rows = await conn.fetch(
            _FUNNEL,
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
    return figures_of(rows)


def figures_of(rows: Sequence[asyncpg.Record]) -> dict[str, FunnelFigures]:
    """The figures of each group from the rows of the funnel statement, keys in the order they report."""
    groups: dict[str, FunnelFigures] = defaultdict(FunnelFigures)
    for row in sorted(rows, key=lambda r: (r["ord"] or [], r["key"] or "")):
        figures, key, counts = groups[row["grp"]], row["key"], row["counts"]
        match row["kind"]:
            case "leads":
                # rows in order of their first lead: a status or category first seen is the next to list
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
