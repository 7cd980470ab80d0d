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
from leadflow_shared.contracts.events import OpportunityLost

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
    assert [e.event_type for e in events] == ["opportunity.stage_changed", "opportunity.lost"]
    assert isinstance(events[1], OpportunityLost)
    assert events[1].lost_reason == "timing"


def test_closing_won_announces_the_win_and_an_amount_update_alone_announces_nothing() -> None:
    deal = a_deal()
    won = move(deal, "closed_won", DEFAULT_STAGES, DEFAULT_LOST_REASONS, at=OPENED)
    assert [e.event_type for e in events_of(won)] == ["opportunity.stage_changed", "opportunity.won"]
    repriced = move(
        deal, "prospecting", DEFAULT_STAGES, DEFAULT_LOST_REASONS, amount=Decimal("30000"), at=OPENED
    )
    assert repriced.changed == ("amount",)
    assert events_of(repriced) == []
