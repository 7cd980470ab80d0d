"""Pipeline, forecast and KPI figures summed in Postgres from the running totals its triggers keep."""

from __future__ import annotations

from datetime import date

import asyncpg

from leadflow_opportunity.domain.forecast import NO_KEY, Dimension, KpiCounts, Sums
from leadflow_opportunity.domain.periods import Period
from leadflow_opportunity.domain.stages import ForecastCategory

TOTALS = ("stage_totals", "attribution_totals", "won_cycles", "conversion_totals")
"""The running totals of this schema (migration 0003), in the order they are folded."""

_SUMS = (
    "sum(opportunities)::bigint AS count, sum(amount) AS amount, sum(weighted_amount) AS weighted_amount"
    " FROM stage_totals"
)


def _sums(row: asyncpg.Record) -> Sums:
    return Sums(row["count"], row["amount"], row["weighted_amount"])


async def stage_sums(conn: asyncpg.Connection, *, open_only: bool) -> dict[str, Sums]:
    """The sums of every stage that holds opportunities (open ones only, or all)."""
    rows = await conn.fetch(
        f"SELECT stage, {_SUMS} WHERE NOT ($1 AND is_closed) GROUP BY stage HAVING sum(opportunities) <> 0",
        open_only,
    )
    return {row["stage"]: _sums(row) for row in rows}


async def forecast_sums(
    conn: asyncpg.Connection, period: Period
) -> list[tuple[date, ForecastCategory, Sums]]:
    """The sums per close period (by its first day) and forecast category, for the periods that hold any."""
    rows = await conn.fetch(
        f"SELECT date_trunc($1, close_month::timestamp)::date AS starts, forecast_category, {_SUMS}"
        " GROUP BY 1, 2 HAVING sum(opportunities) <> 0",
        period.value,
    )
    return [(row["starts"], ForecastCategory(row["forecast_category"]), _sums(row)) for row in rows]


# Each CTE answers per key of the dimension and, in the row with `overall`, for everything. A key without a
# source or campaign is '' in the totals and NO_KEY ($2) here.
_KPIS = """
WITH opened AS (
    SELECT GROUPING(k) = 1 AS overall, coalesce(k, '') AS key,
           sum(opportunities) AS opened,
           sum(opportunities) FILTER (WHERE outcome = 'won') AS won,
           sum(opportunities) FILTER (WHERE outcome = 'lost') AS lost,
           sum(amount) FILTER (WHERE outcome = 'won') AS won_amount
    FROM (SELECT coalesce(nullif(key, ''), $2) AS k, outcome, opportunities, amount
          FROM attribution_totals WHERE dimension = $1) a
    GROUP BY GROUPING SETS ((k), ())
), converted AS (
    SELECT GROUPING(k) = 1 AS overall, coalesce(k, '') AS key, sum(leads) AS converted
    FROM (SELECT coalesce(nullif(key, ''), $2) AS k, leads FROM conversion_totals WHERE dimension = $1) c
    GROUP BY GROUPING SETS ((k), ())
), cycles AS (
    SELECT GROUPING(k) = 1 AS overall, coalesce(k, '') AS key, cycle_days, sum(opportunities)::bigint AS n
    FROM (SELECT coalesce(nullif(key, ''), $2) AS k, cycle_days, opportunities
          FROM won_cycles WHERE dimension = $1) w
    GROUP BY GROUPING SETS ((k, cycle_days), (cycle_days))
), running AS (
    SELECT overall, key, cycle_days,
           (sum(n) OVER (PARTITION BY overall, key ORDER BY cycle_days))::bigint AS upto,
           (sum(n) OVER (PARTITION BY overall, key))::bigint AS total
    FROM cycles WHERE n <> 0
), middles AS (
    SELECT overall, key, max(total) AS cycles,
           min(cycle_days) FILTER (WHERE upto >= (total + 1) / 2) AS lower_middle,
           min(cycle_days) FILTER (WHERE upto >= total / 2 + 1) AS upper_middle
    FROM running GROUP BY overall, key
)
SELECT overall, key,
       coalesce(converted, 0)::bigint AS leads_converted, coalesce(opened, 0)::bigint AS opportunities_opened,
       coalesce(won, 0)::bigint AS won, coalesce(lost, 0)::bigint AS lost,
       coalesce(won_amount, 0) AS won_amount, coalesce(cycles, 0) AS cycles, lower_middle, upper_middle
FROM opened FULL JOIN converted USING (overall, key) LEFT JOIN middles USING (overall, key)
WHERE overall OR coalesce(opened, 0) <> 0 OR coalesce(converted, 0) <> 0
"""


async def kpi_counts(
    conn: asyncpg.Connection, dimension: Dimension
) -> tuple[dict[str, KpiCounts], KpiCounts]:
    """The counts per source or campaign, and over everything."""
    groups: dict[str, KpiCounts] = {}
    overall = KpiCounts()
    for row in await conn.fetch(_KPIS, dimension.value, NO_KEY):
        counts = KpiCounts(
            leads_converted=row["leads_converted"],
            opportunities_opened=row["opportunities_opened"],
            won=row["won"],
            lost=row["lost"],
            won_amount=row["won_amount"],
            cycles=row["cycles"],
            middle_cycle_days=(
                (row["lower_middle"], row["upper_middle"]) if row["lower_middle"] is not None else None
            ),
        )
        if row["overall"]:
            overall = counts
        else:
            groups[row["key"]] = counts
    return groups, overall
