"""Pipeline per stage, forecast per period and category, KPIs per source and campaign."""

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from leadflow_opportunity.domain.forecast import (
    ConvertedLead,
    Dimension,
    ForecastCell,
    Kpis,
    StageTotals,
    Totals,
    campaign_key,
    forecast,
    kpis_by,
    overall_kpis,
    pipeline,
)
from leadflow_opportunity.domain.periods import Period
from leadflow_opportunity.domain.stages import DEFAULT_STAGES, ForecastCategory, OpportunityState
from leadflow_shared.contracts.lead import Campaign

ACME = UUID("00000000-0000-0000-0000-00000000ac01")
CATEGORY = {stage.name: stage.forecast_category for stage in DEFAULT_STAGES.stages}


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


def deal(
    stage: str,
    probability: float,
    amount: str,
    close_date: date,
    source: str | None,
    *,
    campaign: str | None = None,
    opened: date = date(2026, 9, 1),
) -> OpportunityState:
    closed = stage.startswith("closed_")
    return OpportunityState(
        opportunity_id=uuid4(),
        lead_id=uuid4(),
        account_id=ACME,
        contact_id=uuid4(),
        name=f"Acme - {stage}",
        stage=stage,
        probability=probability,
        forecast_category=CATEGORY[stage],
        amount=Decimal(amount),
        close_date=close_date,
        opened_at=at(opened),
        closed_at=at(close_date) if closed else None,
        is_closed=closed,
        is_won=stage == "closed_won",
        lost_reason="competitor" if stage == "closed_lost" else None,
        source_system=source,
        campaign=campaign,
    )


ROCKET_SKATES = deal("proposal", 0.6, "40000", date(2026, 12, 10), "hubspot", campaign="desert-webinar")
ANVIL_BULK = deal("proposal", 0.6, "10000.50", date(2027, 1, 20), "linkedin")
GIANT_MAGNET = deal("negotiation", 0.8, "25000", date(2026, 12, 20), "hubspot", campaign="desert-webinar")
JET_BIKE = deal("closed_won", 1.0, "30000", date(2026, 11, 5), "hubspot", opened=date(2026, 10, 1))
BIRD_SEED = deal("closed_lost", 0.0, "12000", date(2026, 11, 10), "linkedin")
TORNADO_KIT = deal("closed_won", 1.0, "18000", date(2026, 9, 21), "linkedin", campaign="desert-webinar")
ALL_DEALS = [ROCKET_SKATES, ANVIL_BULK, GIANT_MAGNET, JET_BIKE, BIRD_SEED, TORNADO_KIT]


def totals(count: int, amount: str, weighted: str) -> Totals:
    return Totals(count, Decimal(amount), Decimal(weighted))


def converted(source: str | None, campaign: str | None = None) -> ConvertedLead:
    return ConvertedLead(uuid4(), source, campaign)


CONVERSIONS = [
    *(converted("hubspot", "desert-webinar") for _ in range(3)),
    *(converted("hubspot") for _ in range(2)),
    *(converted("linkedin") for _ in range(3)),
    converted("linkedin", "desert-webinar"),
    converted(None),
]


def test_the_open_pipeline_counts_and_weights_each_stage_in_order() -> None:
    assert pipeline(ALL_DEALS, DEFAULT_STAGES) == (
        StageTotals("prospecting", totals(0, "0.00", "0.00")),
        StageTotals("qualification", totals(0, "0.00", "0.00")),
        StageTotals("needs_analysis", totals(0, "0.00", "0.00")),
        StageTotals("proposal", totals(2, "50000.50", "30000.30")),
        StageTotals("negotiation", totals(1, "25000.00", "20000.00")),
    )


def test_the_pipeline_may_include_the_closed_stages() -> None:
    closed = pipeline(ALL_DEALS, DEFAULT_STAGES, include_closed=True)[-2:]

    assert closed == (
        StageTotals("closed_won", totals(2, "48000.00", "48000.00")),
        StageTotals("closed_lost", totals(1, "12000.00", "0.00")),
    )


def test_an_opportunity_at_a_stage_no_longer_configured_still_shows() -> None:
    legacy = ROCKET_SKATES.model_copy(update={"stage": "value_proposition", "probability": 0.5})

    assert pipeline([legacy], DEFAULT_STAGES)[-1] == StageTotals(
        "value_proposition", totals(1, "40000.00", "20000.00")
    )


def test_the_weighted_amount_is_rounded_to_the_cent_once_not_per_deal() -> None:
    thirds = [
        ROCKET_SKATES.model_copy(update={"amount": Decimal("0.01"), "probability": 0.5}) for _ in range(3)
    ]

    assert pipeline(thirds, DEFAULT_STAGES)[3].totals == totals(3, "0.03", "0.02")


def test_the_forecast_per_month_splits_each_month_by_category() -> None:
    assert forecast(ALL_DEALS, Period.MONTH) == (
        ForecastCell("2026-09", ForecastCategory.CLOSED, totals(1, "18000.00", "18000.00")),
        ForecastCell("2026-11", ForecastCategory.CLOSED, totals(1, "30000.00", "30000.00")),
        ForecastCell("2026-11", ForecastCategory.OMITTED, totals(1, "12000.00", "0.00")),
        ForecastCell("2026-12", ForecastCategory.BEST_CASE, totals(1, "40000.00", "24000.00")),
        ForecastCell("2026-12", ForecastCategory.COMMIT, totals(1, "25000.00", "20000.00")),
        ForecastCell("2027-01", ForecastCategory.BEST_CASE, totals(1, "10000.50", "6000.30")),
    )


def test_the_forecast_per_quarter_groups_months_of_one_quarter() -> None:
    assert forecast(ALL_DEALS, Period.QUARTER) == (
        ForecastCell("2026-Q3", ForecastCategory.CLOSED, totals(1, "18000.00", "18000.00")),
        ForecastCell("2026-Q4", ForecastCategory.BEST_CASE, totals(1, "40000.00", "24000.00")),
        ForecastCell("2026-Q4", ForecastCategory.COMMIT, totals(1, "25000.00", "20000.00")),
        ForecastCell("2026-Q4", ForecastCategory.CLOSED, totals(1, "30000.00", "30000.00")),
        ForecastCell("2026-Q4", ForecastCategory.OMITTED, totals(1, "12000.00", "0.00")),
        ForecastCell("2027-Q1", ForecastCategory.BEST_CASE, totals(1, "10000.50", "6000.30")),
    )


def test_an_empty_book_forecasts_nothing() -> None:
    assert forecast([], Period.QUARTER) == ()
    assert overall_kpis([], []).lead_to_opportunity_rate is None


def test_kpis_by_source_give_conversion_win_rate_deal_size_and_sales_cycle() -> None:
    assert kpis_by(Dimension.SOURCE, ALL_DEALS, CONVERSIONS) == (
        Kpis("(none)", 1, 0, Decimal("0.0000"), 0, 0, None, None, None),
        Kpis("hubspot", 5, 3, Decimal("0.6000"), 1, 0, Decimal("1.0000"), Decimal("30000.00"), Decimal("35")),
        Kpis(
            "linkedin", 4, 3, Decimal("0.7500"), 1, 1, Decimal("0.5000"), Decimal("18000.00"), Decimal("20")
        ),
    )


def test_kpis_by_campaign_group_by_the_campaign_key() -> None:
    by_campaign = {k.key: k for k in kpis_by(Dimension.CAMPAIGN, ALL_DEALS, CONVERSIONS)}

    webinar = by_campaign["desert-webinar"]
    assert (webinar.leads_converted, webinar.opportunities_opened) == (4, 3)
    assert webinar.lead_to_opportunity_rate == Decimal("0.7500")
    assert webinar.win_rate == Decimal("1.0000")
    assert by_campaign["(none)"].opportunities_opened == 3


def test_overall_kpis_average_won_deals_and_take_the_median_cycle() -> None:
    overall = overall_kpis(ALL_DEALS, CONVERSIONS)

    assert overall == Kpis(
        key="all",
        leads_converted=10,
        opportunities_opened=6,
        lead_to_opportunity_rate=Decimal("0.6000"),
        won=2,
        lost=1,
        win_rate=Decimal("0.6667"),
        average_won_amount=Decimal("24000.00"),
        median_sales_cycle_days=Decimal("27.5"),
    )


def test_a_campaign_is_reported_by_name_then_utm_campaign_then_id() -> None:
    assert campaign_key(
        Campaign(campaign_name="Desert Webinar", utm_campaign="dw-26", campaign_id="123")
    ) == ("Desert Webinar")
    assert campaign_key(Campaign(utm_campaign="dw-26", campaign_id="123")) == "dw-26"
    assert campaign_key(Campaign(campaign_id="123")) == "123"
    assert campaign_key(Campaign()) is None
