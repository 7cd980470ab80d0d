"""Which events a stage move announces."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from leadflow_opportunity.domain.stages import (
    DEFAULT_LOST_REASONS,
    DEFAULT_STAGES,
    OpportunityState,
    move,
    open_opportunity,
)
from leadflow_opportunity.use_cases.stages import events_of
from leadflow_shared.contracts.events import OpportunityLost, OpportunityUpdated

OPENED = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def a_deal() -> OpportunityState:
    return open_opportunity(
        opportunity_id=uuid.uuid4(),
        lead_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        contact_id=uuid.uuid4(),
        name="Jacquard Looms: Joseph",
        amount=Decimal("25000"),
        close_date=date(2026, 12, 31),
        stages=DEFAULT_STAGES,
        opened_at=OPENED,
    )


def test_closing_lost_announces_the_stage_change_then_the_loss_with_its_reason() -> None:
    deal = a_deal()
    moved = move(deal, "closed_lost", DEFAULT_STAGES, DEFAULT_LOST_REASONS, lost_reason="timing", at=OPENED)
    events = events_of(moved)
    assert [e.event_type for e in events] == [
        "opportunity.stage_changed",
        "opportunity.updated",
        "opportunity.lost",
    ]
    assert isinstance(events[2], OpportunityLost)
    assert events[2].lost_reason == "timing"


def test_closing_won_announces_the_close_date_moved_to_the_day_it_closed_then_the_win() -> None:
    deal = a_deal()
    won = move(deal, "closed_won", DEFAULT_STAGES, DEFAULT_LOST_REASONS, at=OPENED)
    events = events_of(won)
    assert [e.event_type for e in events] == [
        "opportunity.stage_changed",
        "opportunity.updated",
        "opportunity.won",
    ]
    assert isinstance(events[1], OpportunityUpdated)
    assert (events[1].changed, events[1].close_date) == (["close_date"], OPENED.date())


def test_a_stage_move_keeping_amount_and_close_date_announces_no_update() -> None:
    deal = a_deal()
    moved = move(deal, "qualification", DEFAULT_STAGES, DEFAULT_LOST_REASONS, at=OPENED)
    assert [e.event_type for e in events_of(moved)] == ["opportunity.stage_changed"]


def test_a_new_amount_in_the_same_stage_announces_an_update_with_the_old_and_new_amount() -> None:
    deal = a_deal()
    repriced = move(
        deal, "prospecting", DEFAULT_STAGES, DEFAULT_LOST_REASONS, amount=Decimal("30000"), at=OPENED
    )
    assert repriced.changed == ("amount",)
    [updated] = events_of(repriced)
    assert isinstance(updated, OpportunityUpdated)
    assert updated.changed == ["amount"]
    assert (updated.previous_amount, updated.amount) == (Decimal("25000"), Decimal("30000"))
    assert updated.close_date == date(2026, 12, 31)


def test_a_stage_move_that_also_moves_the_close_date_announces_the_stage_change_then_the_update() -> None:
    deal = a_deal()
    moved = move(
        deal, "proposal", DEFAULT_STAGES, DEFAULT_LOST_REASONS, close_date=date(2027, 2, 15), at=OPENED
    )
    events = events_of(moved)
    assert [e.event_type for e in events] == ["opportunity.stage_changed", "opportunity.updated"]
    assert isinstance(events[1], OpportunityUpdated)
    assert events[1].changed == ["close_date"]
    assert (events[1].previous_close_date, events[1].close_date) == (date(2026, 12, 31), date(2027, 2, 15))
    assert events[1].stage == "proposal"
