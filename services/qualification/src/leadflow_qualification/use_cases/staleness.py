"""No lead left behind: flag leads idle too long, disqualify the unresponsive and hand them to nurture."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.domain.statuses import BaseCategory
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases.judging import disqualified_event, move
from leadflow_shared.contracts.events import DisqualificationReason
from leadflow_shared.runtime import BackgroundTask, Runtime, periodic
from leadflow_shared.uow import UnitOfWorkFactory

log = structlog.get_logger(__name__)

BATCH = 200


@dataclass
class SweepResult:
    """What one sweep did."""

    flagged: int = 0
    unresponsive: int = 0


async def sweep(uow_factory: UnitOfWorkFactory, store: cfg.ConfigStore) -> SweepResult:
    """Flag stale leads and disqualify the unresponsive, in batches of their own transactions, by the
    configuration in force when the sweep began."""
    result = SweepResult()
    async with uow_factory() as uow:
        config = await store.load(uow.conn)
        for category, limit in config.staleness.limits.items():
            result.flagged += await repo.flag_stale(uow.conn, category.value, limit.stale_after_hours * 3600)
    reason = DisqualificationReason.UNRESPONSIVE
    nurturable = config.criteria.is_nurturable(reason)
    goal = BaseCategory.NURTURING if nurturable else BaseCategory.ARCHIVED
    target = config.catalog.default_for(goal).name
    for category, limit in config.staleness.limits.items():
        hours = limit.unresponsive_after_hours
        if hours is None:
            continue
        rule = f"rule:staleness.{category.value}.unresponsive_after_hours={hours:g}"
        while True:
            async with uow_factory() as uow:
                leads = await repo.unresponsive_leads(uow.conn, category.value, hours * 3600, BATCH)
                moved = 0
                for lead in leads:
                    if target not in config.catalog.allowed_targets(lead.status):
                        continue
                    await move(
                        uow,
                        config,
                        lead,
                        target,
                        reason=f"unresponsive: no progress for {hours:g}h in {lead.status}",
                        actor=rule,
                        causation=None,
                        reason_code=reason.value,
                    )
                    await uow.outbox.emit(disqualified_event(lead, None, reason, nurturable, manual=False))
                    moved += 1
                result.unresponsive += moved
            if len(leads) < BATCH or moved == 0:
                break
    return result


def sweeper(interval_s: float, store: cfg.ConfigStore) -> BackgroundTask:
    """A background job that sweeps every interval_s until the service stops."""

    async def sweep_stale_leads(runtime: Runtime) -> None:
        done = await sweep(runtime.uow, store)
        if done.flagged or done.unresponsive:
            log.info("staleness sweep", flagged=done.flagged, unresponsive=done.unresponsive)

    return periodic(interval_s, sweep_stale_leads)
