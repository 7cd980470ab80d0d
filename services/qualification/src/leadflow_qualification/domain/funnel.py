"""Pipeline KPIs from status-history rows: pure arithmetic, grouped by source, campaign or owner on demand."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from statistics import median

from pydantic import BaseModel, ConfigDict

from leadflow_qualification.domain.staleness import (
    DEFAULT_STALENESS_LIMITS,
    Freshness,
    StalenessLimits,
    assess_staleness,
)
from leadflow_qualification.domain.statuses import BaseCategory
from leadflow_shared.contracts.events import DisqualificationReason


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HistoryRow(_Frozen):
    """One status change of one lead, with the attribution the reports group by."""

    lead_id: str
    from_status: str | None
    to_status: str
    category: BaseCategory
    changed_at: datetime
    reason: str | None = None
    source_system: str | None = None
    campaign: str | None = None
    owner: str | None = None


class GroupBy(StrEnum):
    """What a report can be split by."""

    SOURCE = "source"
    CAMPAIGN = "campaign"
    OWNER = "owner"


FUNNEL_STEPS: tuple[tuple[BaseCategory, BaseCategory], ...] = (
    (BaseCategory.OPEN, BaseCategory.CONTACTED),
    (BaseCategory.CONTACTED, BaseCategory.QUALIFIED),
    (BaseCategory.QUALIFIED, BaseCategory.CONVERTED),
    (BaseCategory.OPEN, BaseCategory.QUALIFIED),
    (BaseCategory.OPEN, BaseCategory.CONVERTED),
)

NO_GROUP = "(none)"
_DISQUALIFIED = frozenset({BaseCategory.UNQUALIFIED, BaseCategory.NURTURING, BaseCategory.ARCHIVED})
_REASONS = frozenset(r.value for r in DisqualificationReason)


class FunnelReport(_Frozen):
    """The KPIs of one set of leads."""

    leads: int
    by_status: dict[str, int]
    by_category: dict[BaseCategory, int]
    conversion: dict[str, float | None]
    median_hours_to_first_contact: float | None
    median_hours_in_status: dict[str, float]
    stale: int
    unresponsive: int
    disqualification_reasons: dict[str, int]


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _by_lead(rows: Iterable[HistoryRow]) -> dict[str, list[HistoryRow]]:
    leads: dict[str, list[HistoryRow]] = defaultdict(list)
    for row in rows:
        leads[row.lead_id].append(row)
    for history in leads.values():
        history.sort(key=lambda r: r.changed_at)
    return dict(leads)


def _first_entry(
    history: Sequence[HistoryRow], category: BaseCategory, after: datetime | None = None
) -> datetime | None:
    return next(
        (
            r.changed_at
            for r in history
            if r.category is category and (after is None or r.changed_at >= after)
        ),
        None,
    )


def conversion_rate(
    histories: Iterable[Sequence[HistoryRow]], from_category: BaseCategory, to_category: BaseCategory
) -> float | None:
    """Share of leads that entered `from_category` and later entered `to_category`; None when none entered."""
    entered = reached = 0
    for history in histories:
        start = _first_entry(history, from_category)
        if start is None:
            continue
        entered += 1
        if _first_entry(history, to_category, after=start) is not None:
            reached += 1
    return round(reached / entered, 4) if entered else None


def _report(
    histories: Sequence[Sequence[HistoryRow]], now: datetime, limits: StalenessLimits
) -> FunnelReport:
    current = [h[-1] for h in histories]
    to_contact: list[float] = []
    in_status: dict[str, list[float]] = defaultdict(list)
    reasons: Counter[str] = Counter()
    stale = unresponsive = 0
    for history in histories:
        opened = _first_entry(history, BaseCategory.OPEN)
        contacted = _first_entry(history, BaseCategory.CONTACTED, after=opened) if opened else None
        if opened is not None and contacted is not None:
            to_contact.append(_hours(opened, contacted))
        for row, following in pairwise(history):
            in_status[row.to_status].append(_hours(row.changed_at, following.changed_at))
        reasons.update(
            {r.reason for r in history if r.category in _DISQUALIFIED and r.reason in _REASONS and r.reason}
        )
        last = history[-1]
        verdict = assess_staleness(last.category, last.changed_at, None, limits, now)
        stale += verdict.freshness is Freshness.STALE
        unresponsive += verdict.freshness is Freshness.DISQUALIFY_UNRESPONSIVE
    return FunnelReport(
        leads=len(histories),
        by_status=dict(Counter(r.to_status for r in current)),
        by_category=dict(Counter(r.category for r in current)),
        conversion={f"{a}->{b}": conversion_rate(histories, a, b) for a, b in FUNNEL_STEPS},
        median_hours_to_first_contact=round(median(to_contact), 2) if to_contact else None,
        median_hours_in_status={status: round(median(spans), 2) for status, spans in in_status.items()},
        stale=stale,
        unresponsive=unresponsive,
        disqualification_reasons=dict(reasons),
    )


def funnel_report(
    rows: Iterable[HistoryRow], now: datetime, limits: StalenessLimits = DEFAULT_STALENESS_LIMITS
) -> FunnelReport:
    """KPIs over every lead in the rows."""
    return _report(list(_by_lead(rows).values()), now, limits)


def _group_key(history: Sequence[HistoryRow], group_by: GroupBy) -> str:
    field = {GroupBy.SOURCE: "source_system", GroupBy.CAMPAIGN: "campaign", GroupBy.OWNER: "owner"}[group_by]
    values = [getattr(r, field) for r in history if getattr(r, field)]
    return str(values[-1]) if values else NO_GROUP


def funnel_by(
    rows: Iterable[HistoryRow],
    group_by: GroupBy,
    now: datetime,
    limits: StalenessLimits = DEFAULT_STALENESS_LIMITS,
) -> dict[str, FunnelReport]:
    """KPIs per source, campaign or owner (the latest value a lead's rows carry; `(none)` without one)."""
    groups: dict[str, list[list[HistoryRow]]] = defaultdict(list)
    for history in _by_lead(rows).values():
        groups[_group_key(history, group_by)].append(history)
    return {key: _report(histories, now, limits) for key, histories in sorted(groups.items())}
