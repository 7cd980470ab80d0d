from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leadflow_qualification.domain.answers import BudgetRange, matches_any, parse_budget, parse_timeline_days

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("€50k", BudgetRange(Decimal(50_000), Decimal(50_000), "EUR")),
        ("50,000 USD", BudgetRange(Decimal(50_000), Decimal(50_000), "USD")),
        ("50.000 EUR", BudgetRange(Decimal(50_000), Decimal(50_000), "EUR")),
        ("under 10k", BudgetRange(Decimal(0), Decimal(10_000), None)),
        ("up to £8,000", BudgetRange(Decimal(0), Decimal(8_000), "GBP")),
        ("over $20k", BudgetRange(Decimal(20_000), None, "USD")),
        ("100k+", BudgetRange(Decimal(100_000), None, None)),
        ("20-30k", BudgetRange(Decimal(20_000), Decimal(30_000), None)),
        ("€5k - €10k per year", BudgetRange(Decimal(5_000), Decimal(10_000), "EUR")),
        ("1.5m", BudgetRange(Decimal(1_500_000), Decimal(1_500_000), None)),
    ],
)
def test_a_budget_answer_reads_as_a_range(answer, expected):
    assert parse_budget(answer) == expected


def test_a_budget_answer_without_an_amount_gives_no_range():
    assert parse_budget("Approved by the CFO") is None


@pytest.mark.parametrize(
    ("answer", "days"),
    [
        ("ASAP", 0),
        ("Within a month", 30),
        ("within 3 months", 90),
        ("3-6 months", 180),
        ("in two weeks", 14),
        ("this quarter", 34),  # 27 Nov to 31 Dec
        ("next quarter", 124),  # to 31 Mar 2027
        ("this year", 34),
        ("next year", 399),
        ("next month", 34),  # December is next month
    ],
)
def test_a_timeline_answer_reads_as_days_from_now(answer, days):
    assert parse_timeline_days(answer, NOW) == days


def test_an_unreadable_timeline_gives_none():
    assert parse_timeline_days("depends on the board", NOW) is None


def test_keywords_match_whole_words_only():
    assert matches_any("I know what we need", ["no"]) is None
    assert matches_any("No, just browsing", ["no"]) == "no"
    assert matches_any("I'm the Decision  Maker", ["decision maker"]) == "decision maker"
