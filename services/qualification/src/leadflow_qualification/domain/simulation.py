"""What a proposed criteria version would do to the stored leads, before anyone adopts it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from leadflow_qualification.domain.criteria import Criteria
from leadflow_qualification.domain.decision import Rulebook, evaluate, next_statuses
from leadflow_qualification.domain.facts import Activity, LeadFacts, SalesInput
from leadflow_qualification.domain.statuses import TERMINAL_CATEGORIES, BaseCategory, StatusCatalog


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SimulationScope(StrEnum):
    """Which leads a simulation re-judges."""

    OPEN_ONLY = "open_only"
    NON_TERMINAL = "non_terminal"


class StoredLead(_Frozen):
    """One lead as qualification holds it: id, facts, activities, sales input and current status."""

    lead_id: str
    facts: LeadFacts
    activities: tuple[Activity, ...] = ()
    sales_input: SalesInput | None = None
    status: str


class StatusChange(_Frozen):
    """How many leads would move from one status to another, with a few of their ids."""

    from_status: str
    to_status: str
    count: int
    samples: tuple[str, ...]


class SimulationResult(_Frozen):
    """The effect of a criteria version: leads judged, left out by scope, unchanged, and each move."""

    criteria_version: int
    scope: SimulationScope
    evaluated: int
    out_of_scope: int
    unchanged: int
    changes: tuple[StatusChange, ...]

    @property
    def changed(self) -> int:
        """How many leads would change status."""
        return sum(c.count for c in self.changes)


def _in_scope(category: BaseCategory, scope: SimulationScope) -> bool:
    if scope is SimulationScope.OPEN_ONLY:
        return category is BaseCategory.OPEN
    return category not in TERMINAL_CATEGORIES


def simulate(
    leads: Iterable[StoredLead],
    proposed: Criteria,
    catalog: StatusCatalog,
    now: datetime,
    *,
    scope: SimulationScope = SimulationScope.OPEN_ONLY,
    max_samples: int = 5,
) -> SimulationResult:
    """Re-judge the leads in scope under `proposed` and count the status moves it would cause."""
    book = Rulebook.of(proposed)
    evaluated = out_of_scope = unchanged = 0
    counts: dict[tuple[str, str], int] = {}
    samples: dict[tuple[str, str], list[str]] = {}
    for lead in leads:
        if not _in_scope(catalog.category_of(lead.status), scope):
            out_of_scope += 1
            continue
        evaluated += 1
        decision = evaluate(lead.facts, lead.activities, lead.sales_input, book, now)
        path = next_statuses(catalog, lead.status, decision)
        if not path:
            unchanged += 1
            continue
        move = (lead.status, path[-1])
        counts[move] = counts.get(move, 0) + 1
        if len(samples.setdefault(move, [])) < max_samples:
            samples[move].append(lead.lead_id)
    changes = tuple(
        StatusChange(from_status=src, to_status=dst, count=n, samples=tuple(samples[(src, dst)]))
        for (src, dst), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
    return SimulationResult(
        criteria_version=proposed.version,
        scope=scope,
        evaluated=evaluated,
        out_of_scope=out_of_scope,
        unchanged=unchanged,
        changes=changes,
    )
