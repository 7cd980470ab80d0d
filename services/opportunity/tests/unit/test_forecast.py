"""Pipeline per stage, forecast per period and category, KPIs per source and campaign, from database sums.

What the database adds up for given deals is checked in tests/service/test_reports.py.
"""

from datetime import date
from decimal import Decimal

from leadflow_opportunity.domain.forecast import (
    ForecastCell,
    KpiCounts,
    Kpis,
    StageTotals,
    Sums,
    Totals,
    campaign_key,
    forecast,
    kpis,
    kpis_by,
    pipeline,
    totals,
)
from leadflow_opportunity.domain.periods import Period
from leadflow_opportunity.domain.stages import DEFAULT_STAGES, ForecastCategory
from leadflow_shared.contracts.lead import Campaign

PROPOSALS = Sums(2, Decimal("50000.50"), Decimal("30000.300"))
NEGOTIATIONS = Sums(1, Decimal("25000.00"), Decimal("20000.000"))


def sums(count: int, amount: str, weighted: str) -> Sums:
    return Sums(count, Decimal(amount), Decimal(weighted))


def rounded(count: int, amount: str, weighted: str) -> Totals:
    return Totals(count, Decimal(amount), Decimal(weighted))


def test_the_pipeline_lists_every_open_stage_in_order_with_empty_ones_at_zero() -> None:
    assert pipeline({"proposal": PROPOSALS, "negotiation": NEGOTIATIONS}, DEFAULT_STAGES) == (
        StageTotals("prospecting", rounded(0, "0.00", "0.00")),
        StageTotals("qualification", rounded(0, "0.00", "0.00")),
        StageTotals("needs_analysis", rounded(0, "0.00", "0.00")),
        StageTotals("proposal", rounded(2, "50000.50", "30000.30")),
        StageTotals("negotiation", rounded(1, "25000.00", "20000.00")),
    )


def test_the_pipeline_may_include_the_closed_stages() -> None:
    closed = pipeline(
        {"closed_won": sums(2, "48000", "48000.0"), "closed_lost": sums(1, "12000", "0")},
        DEFAULT_STAGES,
        include_closed=True,
    )[-2:]

    assert closed == (
        StageTotals("closed_won", rounded(2, "48000.00", "48000.00")),
        StageTotals("closed_lost", rounded(1, "12000.00", "0.00")),
    )


def test_a_stage_no_longer_configured_follows_the_configured_ones_by_name() -> None:
    strays = pipeline(
        {"value_proposition": sums(1, "40000", "20000.0"), "discovery": sums(1, "10", "1.0")}, DEFAULT_STAGES
    )[-2:]

    assert [row.stage for row in strays] == ["discovery", "value_proposition"]


def test_sums_are_rounded_to_the_cent_once_half_up() -> None:
    assert totals(sums(3, "0.03", "0.015")) == rounded(3, "0.03", "0.02")


def test_the_forecast_labels_each_period_and_orders_cells_by_time_then_category() -> None:
    cells = [
        (date(2026, 12, 1), ForecastCategory.COMMIT, NEGOTIATIONS),
        (date(2026, 10, 1), ForecastCategory.OMITTED, sums(1, "12000", "0")),
        (date(2026, 10, 1), ForecastCategory.CLOSED, sums(1, "30000", "30000.0")),
        (date(2026, 12, 1), ForecastCategory.BEST_CASE, PROPOSALS),
    ]

    assert forecast(cells, Period.QUARTER) == (
        ForecastCell("2026-Q4", ForecastCategory.BEST_CASE, rounded(2, "50000.50", "30000.30")),
        ForecastCell("2026-Q4", ForecastCategory.COMMIT, rounded(1, "25000.00", "20000.00")),
        ForecastCell("2026-Q4", ForecastCategory.CLOSED, rounded(1, "30000.00", "30000.00")),
        ForecastCell("2026-Q4", ForecastCategory.OMITTED, rounded(1, "12000.00", "0.00")),
    )
    assert [cell.period for cell in forecast(cells, Period.MONTH)] == [
        "2026-10",
        "2026-10",
        "2026-12",
        "2026-12",
    ]


def test_an_empty_book_forecasts_nothing_and_has_no_rates() -> None:
    assert forecast([], Period.QUARTER) == ()
    assert kpis("all", KpiCounts()) == Kpis("all", 0, 0, None, 0, 0, None, None, None)


def test_kpis_derive_conversion_win_rate_and_average_deal_size_from_counts() -> None:
    hubspot = KpiCounts(
        leads_converted=5,
        opportunities_opened=3,
        won=1,
        lost=0,
        won_amount=Decimal("30000.00"),
        cycles=1,
        middle_cycle_days=(35, 35),
    )

    assert kpis("hubspot", hubspot) == Kpis(
        "hubspot", 5, 3, Decimal("0.6000"), 1, 0, Decimal("1.0000"), Decimal("30000.00"), Decimal("35")
    )


def test_the_median_cycle_is_the_middle_day_or_the_mean_of_the_two_middle_days() -> None:
    odd = KpiCounts(won=3, cycles=3, middle_cycle_days=(20, 20))
    even = KpiCounts(won=2, cycles=2, middle_cycle_days=(20, 35))
    even_and_whole = KpiCounts(won=2, cycles=2, middle_cycle_days=(20, 20))

    assert kpis("odd", odd).median_sales_cycle_days == Decimal("20")
    assert kpis("even", even).median_sales_cycle_days == Decimal("27.5")
    assert str(kpis("even", even_and_whole).median_sales_cycle_days) == "20.0"


def test_the_average_won_amount_is_rounded_half_up_to_the_cent() -> None:
    thirds = KpiCounts(opportunities_opened=3, won=3, won_amount=Decimal("100.00"))

    assert kpis("all", thirds).average_won_amount == Decimal("33.33")
    assert kpis("all", KpiCounts(won=2, won_amount=Decimal("0.01"))).average_won_amount == Decimal("0.01")


def test_kpis_by_key_are_sorted_by_key() -> None:
    counts = {"linkedin": KpiCounts(leads_converted=4), "(none)": KpiCounts(leads_converted=1)}

    assert [k.key for k in kpis_by(counts)] == ["(none)", "linkedin"]


def test_a_campaign_is_reported_by_name_then_utm_campaign_then_id() -> None:
    assert campaign_key(
        Campaign(campaign_name="Desert Webinar", utm_campaign="dw-26", campaign_id="123")
    ) == ("Desert Webinar")
    assert campaign_key(Campaign(utm_campaign="dw-26", campaign_id="123")) == "dw-26"
    assert campaign_key(Campaign(campaign_id="123")) == "123"
    assert campaign_key(Campaign()) is None
