"""Read-side work: the funnel KPIs, criteria simulations, and re-judging leads under new criteria."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from leadflow_qualification.adapters import kpis
from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.domain.criteria import Criteria
from leadflow_qualification.domain.facts import LeadFacts
from leadflow_qualification.domain.funnel import FunnelFigures, GroupBy, funnel_report
from leadflow_qualification.domain.simulation import SimulationResult, SimulationScope, StoredLead, simulate
from leadflow_qualification.domain.statuses import TERMINAL_CATEGORIES, BaseCategory
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases.judging import judge, now_utc
from leadflow_shared.uow import UnitOfWorkFactory

PAGE = 500


def scope_categories(scope: SimulationScope) -> list[str]:
    """The base categories a scope covers."""
    if scope is SimulationScope.OPEN_ONLY:
        return [BaseCategory.OPEN.value]
    return [c.value for c in BaseCategory if c not in TERMINAL_CATEGORIES]


async def funnel(
    conn: repo.Conn, config: cfg.Config, start: datetime, end: datetime, by: GroupBy | None
) -> dict[str, Any]:
    """Leads per status, conversion, time to first contact and in each status, stale counts, reasons."""
    groups = await kpis.funnel_figures(conn, start, end, by, now_utc(), config.staleness)
    if by is None:
        return {
            "from": start,
            "to": end,
            "report": funnel_report(groups.get("", FunnelFigures())).model_dump(mode="json"),
        }
    return {
        "from": start,
        "to": end,
        "by": by.value,
        "groups": {key: funnel_report(groups[key]).model_dump(mode="json") for key in sorted(groups)},
    }


async def run_simulation(
    conn: repo.Conn, config: cfg.Config, proposed: Criteria, scope: SimulationScope, max_leads: int
) -> tuple[SimulationResult, bool]:
    """Judge the stored leads in scope under `proposed` (statuses as `config` has them), changing nothing;
    answer if it was cut short."""
    stored: list[StoredLead] = []
    after: UUID | None = None
    while len(stored) < max_leads:
        page = await repo.leads_in_categories(
            conn, scope_categories(scope), after, min(PAGE, max_leads - len(stored))
        )
        if not page:
            break
        acts = await repo.activities_of(conn, [lead.id for lead in page])
        stored.extend(
            StoredLead(
                lead_id=str(lead.id),
                facts=LeadFacts(profile=lead.profile, touches=(lead.touch,) if lead.touch else ()),
                activities=tuple(acts.get(lead.id, ())),
                sales_input=lead.sales_input,
                status=lead.status,
            )
            for lead in page
        )
        after = page[-1].id
    result = simulate(stored, proposed, config.catalog, now_utc(), scope=scope)
    return result, len(stored) >= max_leads


async def reapply(
    uow_factory: UnitOfWorkFactory, store: cfg.ConfigStore, scope: SimulationScope, *, overrides: bool = False
) -> dict[str, int]:
    """Judge every lead in scope again under the criteria in force, one transaction per page.

    A lead held by a person's override keeps it (see apply_decision) unless `overrides`: then the override is
    cleared first and the criteria decide, as for any lead.
    """
    evaluated = moved = 0
    after: UUID | None = None
    while True:
        async with uow_factory() as uow:
            config = await store.load(uow.conn)
            page = await repo.leads_in_categories(uow.conn, scope_categories(scope), after, PAGE)
            for listed in page:
                lead = await repo.lock_lead(uow.conn, listed.id)
                if lead is None:
                    continue
                if overrides and lead.manual_override:
                    await repo.set_override(uow.conn, lead.id, False)
                    lead.manual_override = False
                _, changed = await judge(
                    uow, config, lead, None, cause=f"criteria v{config.criteria.version} applied"
                )
                evaluated += 1
                moved += changed
        if len(page) < PAGE:
            return {"evaluated": evaluated, "changed": moved}
        after = page[-1].id
