"""Pipeline, forecast and KPIs from the sums and counts the database adds up, with Decimal money."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from leadflow_opportunity.domain.periods import Period, period_label
from leadflow_opportunity.domain.stages import ForecastCategory, StageSet
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


@dataclass(frozen=True)
class Sums:
    """Some opportunities added up exactly: how many, their amount and their amount times probability.

    The weighted amount reads each probability as the decimal Python's str() gives for it.
    """

    count: int
    amount: Decimal
    weighted_amount: Decimal


NOTHING = Sums(0, Decimal(0), Decimal(0))


@dataclass(frozen=True)
class Totals:
    """How many opportunities, their amount and their probability-weighted amount (to the cent)."""

    count: int
    amount: Decimal
    weighted_amount: Decimal


def totals(sums: Sums) -> Totals:
    """The sums rounded to the cent once, not per opportunity."""
    return Totals(count=sums.count, amount=_money(sums.amount), weighted_amount=_money(sums.weighted_amount))


@dataclass(frozen=True)
class StageTotals:
    """The pipeline at one stage."""

    stage: str
    totals: Totals


def pipeline(
    by_stage: Mapping[str, Sums], stages: StageSet, *, include_closed: bool = False
) -> tuple[StageTotals, ...]:
    """Totals per stage in stage order, empty stages included, from the sums of the stages that hold any.

    Opportunities at a stage no longer configured follow the configured stages, by name.
    """
    shown = [stage.name for stage in stages.ordered() if include_closed or not stage.is_closed]
    configured = {stage.name for stage in stages.stages}
    strays = sorted(name for name in by_stage if name not in configured)
    return tuple(StageTotals(name, totals(by_stage.get(name, NOTHING))) for name in [*shown, *strays])


@dataclass(frozen=True)
class ForecastCell:
    """The opportunities expected to close in one period, in one forecast category."""

    period: str
    category: ForecastCategory
    totals: Totals


_CATEGORY_ORDER = {category: index for index, category in enumerate(ForecastCategory)}


def forecast(
    cells: Iterable[tuple[date, ForecastCategory, Sums]], period: Period
) -> tuple[ForecastCell, ...]:
    """Cells in time order, then category order, from the sums per period start and category."""
    labelled = [
        ForecastCell(period_label(start, period), category, totals(sums)) for start, category, sums in cells
    ]
    return tuple(sorted(labelled, key=lambda cell: (cell.period, _CATEGORY_ORDER[cell.category])))


def campaign_key(campaign: Campaign) -> str | None:
    """The name a campaign is reported under: its name, else its utm_campaign, else its id."""
    return campaign.campaign_name or campaign.utm_campaign or campaign.campaign_id


class Dimension(StrEnum):
    """What KPIs are grouped by."""

    SOURCE = "source"
    CAMPAIGN = "campaign"


@dataclass(frozen=True)
class KpiCounts:
    """What the database counts for one source or campaign, or for everything.

    Of the won opportunities with a close time, `cycles` is how many there are and `middle_cycle_days` the
    lower and upper middle of their sales cycles in whole days (the same value when `cycles` is odd).
    """

    leads_converted: int = 0
    opportunities_opened: int = 0
    won: int = 0
    lost: int = 0
    won_amount: Decimal = Decimal(0)
    cycles: int = 0
    middle_cycle_days: tuple[int, int] | None = None


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


def median_cycle_days(counts: KpiCounts) -> Decimal | None:
    """The median sales cycle as statistics.median gives it: the middle day, or the mean of the two."""
    if counts.cycles == 0 or counts.middle_cycle_days is None:
        return None
    lower, upper = counts.middle_cycle_days
    return Decimal(lower) if counts.cycles % 2 else Decimal(str((lower + upper) / 2))


def kpis(key: str, counts: KpiCounts) -> Kpis:
    """The rates, average deal size and median cycle derived from one key's counts."""
    won, lost = counts.won, counts.lost
    return Kpis(
        key=key,
        leads_converted=counts.leads_converted,
        opportunities_opened=counts.opportunities_opened,
        lead_to_opportunity_rate=_ratio(counts.opportunities_opened, counts.leads_converted),
        won=won,
        lost=lost,
        win_rate=_ratio(won, won + lost),
        average_won_amount=_money(counts.won_amount / won) if won else None,
        median_sales_cycle_days=median_cycle_days(counts),
    )


def kpis_by(counts: Mapping[str, KpiCounts]) -> tuple[Kpis, ...]:
    """KPIs per source or campaign, sorted by key."""
    return tuple(kpis(key, counts[key]) for key in sorted(counts))
