"""Funnel figures counted in Postgres from the status history of the leads created in a window."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import asyncpg

from leadflow_qualification.domain.funnel import (
    DISQUALIFIED,
    FUNNEL_STEPS,
    NO_GROUP,
    REASONS,
    FunnelFigures,
    GroupBy,
    Middles,
)
from leadflow_qualification.domain.staleness import StalenessLimits
from leadflow_qualification.domain.statuses import BaseCategory

# Sorting a month of history by lead needs more than the default work_mem to stay off disk, and compiling
# the query (JIT) would cost more than it saves.
SETTINGS = "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off"


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
_FUNNEL = f"""
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
            sorted(c.value for c in DISQUALIFIED),
            sorted(REASONS),
            now,
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
