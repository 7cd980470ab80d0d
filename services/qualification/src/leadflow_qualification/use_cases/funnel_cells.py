"""Keep the funnel's cells: rebuild the days that changed and build the runs of days not built yet, so that
the funnel report only reads."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import structlog

from leadflow_qualification.adapters import kpis
from leadflow_qualification.domain.funnel import day_of
from leadflow_qualification.use_cases.judging import now_utc
from leadflow_shared.runtime import BackgroundTask, Runtime, periodic

log = structlog.get_logger(__name__)


@dataclass
class CellsKept:
    """What the rounds of one turn did."""

    rounds: int = 0
    forgotten: int = 0
    days: int = 0
    nodes: int = 0
    more: bool = False
    skipped: bool = False


async def keep_cells(pool: asyncpg.Pool, max_days: int, max_nodes: int, settle_s: float = 0.0) -> CellsKept:
    """Rounds of their own transactions until the cells are caught up, another process keeps them, or a round
    finds nothing to do."""
    kept = CellsKept()
    while True:
        async with pool.acquire() as conn:
            work = await kpis.keep_cells(conn, day_of(now_utc()), max_days, max_nodes, settle_s)
        if work is None:
            kept.skipped = True
            return kept
        kept.rounds += 1
        kept.forgotten += len(work.forget)
        kept.days += len(work.days)
        kept.nodes += len(work.nodes)
        kept.more = work.more
        if not (work.more and work.done):
            return kept


def cells_keeper(interval_s: float, max_days: int, max_nodes: int, settle_s: float) -> BackgroundTask:
    """A background job that keeps the funnel's cells every interval_s until the service stops."""

    async def keep_funnel_cells(runtime: Runtime) -> None:
        kept = await keep_cells(runtime.pool, max_days, max_nodes, settle_s)
        if kept.skipped and not kept.rounds:
            log.debug("funnel cells kept by another process")
        elif kept.forgotten or kept.days or kept.nodes:
            (log.info if kept.days or kept.nodes else log.debug)(
                "funnel cells kept",
                rounds=kept.rounds,
                forgotten=kept.forgotten,
                days=kept.days,
                nodes=kept.nodes,
                more=kept.more,
            )

    return periodic(interval_s, keep_funnel_cells)
