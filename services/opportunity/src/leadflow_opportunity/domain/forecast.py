"""Pipeline, forecast and KPIs computed from opportunities, with Decimal money."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from uuid import UUID

from leadflow_opportunity.domain.periods import Period, period_label
from leadflow_opportunity.domain.stages import ForecastCategory, OpportunityState, StageSet
from leadflow_shared.contracts.lead import Campaign

CENT = Decimal("0.01")
RATE = Decimal("0.0001")
NO_KEY = "(none)"
"""The KPI key of opportunities and leads without a source or campaign."""


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE, rounding=ROUND_HALF_UP)


def weighted_amount(opportunity: OpportunityState) -> Decimal:
    """The amount times the win probability, unrounded (the probability read as its decimal text)."""
    return opportunity.amount * Decimal(str(opportunity.probability))


@dataclass(frozen=True)
class Totals:
    """How many opportunities, their amount and their probability-weighted amount (to the cent)."""

    count: int
    amount: Decimal
    weighted_amount: Decimal


def _totals(opportunities: Sequence[OpportunityState]) -> Totals:
    amount = sum((o.amount for o in opportunities), Decimal(0))
    weighted = sum((weighted_amount(o) for o in opportunities), Decimal(0))
    return Totals(count=len(opportunities), amount=_money(amount), weighted_amount=_money(weighted))


@dataclass(frozen=True)
class StageTotals:
    """The pipeline at one stage."""

    stage: str
    totals: Totals


def pipeline(
    opportunities: Iterable[OpportunityState], stages: StageSet, *, include_closed: bool = False
) -> tuple[StageTotals, ...]:
    """Count, amount and weighted amount per stage in stage order, empty stages included.

    Opportunities at a stage no longer configured follow the configured stages, by name.
    """
    by_stage: dict[str, list[OpportunityState]] = defaultdict(list)
    for opportunity in opportunities:
        by_stage[opportunity.stage].append(opportunity)
    shown = [stage.name for stage in stages.ordered() if include_closed or not stage.is_closed]
    configured = {stage.name for stage in stages.stages}
    strays = sorted(name for name in by_stage if name not in configured)
    return tuple(StageTotals(name, _totals(by_stage.get(name, []))) for name in [*shown, *strays])


@dataclass(frozen=True)
class ForecastCell:
    """The opportunities expected to close in one period, in one forecast category."""

    period: str
    category: ForecastCategory
    totals: Totals


_CATEGORY_ORDER = {category: index for index, category in enumerate(ForecastCategory)}


def forecast(opportunities: Iterable[OpportunityState], period: Period) -> tuple[ForecastCell, ...]:
    """Totals per period of the close date (month or quarter) and forecast category, in time order."""
    cells: dict[tuple[str, ForecastCategory], list[OpportunityState]] = defaultdict(list)
    for opportunity in opportunities:
        cells[(period_label(opportunity.close_date, period), opportunity.forecast_category)].append(
            opportunity
        )
    ordered = sorted(cells, key=lambda key: (key[0], _CATEGORY_ORDER[key[1]]))
    return tuple(
        ForecastCell(label, category, _totals(cells[(label, category)])) for label, category in ordered
    )


def campaign_key(campaign: Campaign) -> str | None:
    """The name a campaign is reported under: its name, else its utm_campaign, else its id."""
    return campaign.campaign_name or campaign.utm_campaign or campaign.campaign_id


class Dimension(StrEnum):
    """What KPIs are grouped by."""

    SOURCE = "source"
    CAMPAIGN = "campaign"


@dataclass(frozen=True)
class ConvertedLead:
    """A lead that was converted into a contact, with its attribution."""

    lead_id: UUID
    source_system: str | None = None
    campaign: str | None = None


@dataclass(frozen=True)
class Kpis:
    """Performance of one source or campaign (or of everything, keyed "all")."""

    key: str
    leads_converted: int
    opportunities_opened: int
    lead_to_opportunity_rate: Decimal | None
    won: int
    lost: int
    win_rate: Decimal | None
    average_won_amount: Decimal | None
    median_sales_cycle_days: Decimal | None


def _kpis(key: str, opportunities: Sequence[OpportunityState], converted: int) -> Kpis:
    won = [o for o in opportunities if o.is_closed and o.is_won]
    lost = [o for o in opportunities if o.is_closed and not o.is_won]
    cycles = [(o.closed_at.date() - o.opened_at.date()).days for o in won if o.closed_at is not None]
    won_total = sum((o.amount for o in won), Decimal(0))
    return Kpis(
        key=key,
        leads_converted=converted,
        opportunities_opened=len(opportunities),
        lead_to_opportunity_rate=_ratio(len(opportunities), converted),
        won=len(won),
        lost=len(lost),
        win_rate=_ratio(len(won), len(won) + len(lost)),
        average_won_amount=_money(won_total / len(won)) if won else None,
        median_sales_cycle_days=Decimal(str(statistics.median(cycles))) if cycles else None,
    )


def kpis_by(
    dimension: Dimension, opportunities: Iterable[OpportunityState], converted_leads: Iterable[ConvertedLead]
) -> tuple[Kpis, ...]:
    """KPIs per source or campaign, sorted by key; unattributed ones under "(none)"."""
    key_of_opportunity: Callable[[OpportunityState], str | None]
    key_of_lead: Callable[[ConvertedLead], str | None]
    if dimension is Dimension.SOURCE:
        key_of_opportunity, key_of_lead = (lambda o: o.source_system), (lambda lead: lead.source_system)
    else:
        key_of_opportunity, key_of_lead = (lambda o: o.campaign), (lambda lead: lead.campaign)
    grouped: dict[str, list[OpportunityState]] = defaultdict(list)
    for opportunity in opportunities:
        grouped[key_of_opportunity(opportunity) or NO_KEY].append(opportunity)
    converted: dict[str, int] = defaultdict(int)
    for lead in converted_leads:
        converted[key_of_lead(lead) or NO_KEY] += 1
    return tuple(
        _kpis(key, grouped.get(key, []), converted.get(key, 0)) for key in sorted({*grouped, *converted})
    )


def overall_kpis(opportunities: Iterable[OpportunityState], converted_leads: Iterable[ConvertedLead]) -> Kpis:
    """KPIs over every opportunity and converted lead, keyed "all"."""
    return _kpis("all", list(opportunities), sum(1 for _ in converted_leads))
