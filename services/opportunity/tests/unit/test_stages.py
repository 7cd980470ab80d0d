"""Configurable stages and moving an opportunity between them."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from leadflow_opportunity.domain.stages import (
    DEFAULT_LOST_REASONS,
    DEFAULT_STAGES,
    ForecastCategory,
    InvalidMove,
    LostReasons,
    OpportunityState,
    StageConflict,
    StageSet,
    UnknownStage,
    move,
    open_opportunity,
)

OPENED = datetime(2026, 9, 1, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def acme_rocket_skates(**overrides: Any) -> OpportunityState:
    state = open_opportunity(
        opportunity_id=UUID("00000000-0000-0000-0000-0000000000a1"),
        lead_id=UUID("00000000-0000-0000-0000-0000000000b1"),
        account_id=UUID("00000000-0000-0000-0000-0000000000c1"),
        contact_id=UUID("00000000-0000-0000-0000-0000000000d1"),
        name="Acme GmbH - rocket skates",
        amount=Decimal("48000"),
        close_date=date(2026, 12, 15),
        stages=DEFAULT_STAGES,
        opened_at=OPENED,
        source_system="hubspot",
    )
    return state.model_copy(update=overrides)


def stage(name: str, order: int, probability: float, category: str, **flags: bool) -> dict[str, Any]:
    return {"name": name, "order": order, "probability": probability, "forecast_category": category, **flags}


WON = stage("won", 90, 1.0, "closed", is_closed=True, is_won=True)
LOST = stage("lost", 91, 0.0, "omitted", is_closed=True)


def refusal(stages: list[dict[str, Any]]) -> str:
    with pytest.raises(ValidationError) as caught:
        StageSet.model_validate({"stages": stages})
    return str(caught.value)


def test_the_default_stages_run_from_prospecting_to_closed() -> None:
    names = [s.name for s in DEFAULT_STAGES.ordered()]

    assert names == [
        "prospecting",
        "qualification",
        "needs_analysis",
        "proposal",
        "negotiation",
        "closed_won",
        "closed_lost",
    ]
    assert DEFAULT_STAGES.opening.name == "prospecting"
    assert DEFAULT_STAGES.won.name == "closed_won"
    assert DEFAULT_STAGES.lost.name == "closed_lost"


def test_a_new_opportunity_opens_at_the_first_open_stage_with_its_probability() -> None:
    state = acme_rocket_skates()

    assert (state.stage, state.probability, state.forecast_category) == (
        "prospecting",
        0.1,
        ForecastCategory.PIPELINE,
    )


def test_an_organisation_defines_its_own_stages() -> None:
    stages = StageSet.model_validate(
        {
            "version": 2,
            "stages": [
                stage("discovery", 1, 0.15, "pipeline"),
                stage("demo", 2, 0.5, "best_case"),
                WON,
                LOST,
            ],
        }
    )

    assert stages.opening.name == "discovery"


def test_repeated_stage_names_are_refused() -> None:
    assert "repeated: demo" in refusal(
        [stage("demo", 1, 0.2, "pipeline"), stage("demo", 2, 0.5, "pipeline"), WON, LOST]
    )


def test_two_won_stages_are_refused() -> None:
    second_won = stage("won_again", 92, 1.0, "closed", is_closed=True, is_won=True)
    assert "exactly one closed won stage" in refusal(
        [stage("demo", 1, 0.2, "pipeline"), WON, second_won, LOST]
    )


def test_a_missing_lost_stage_is_refused() -> None:
    assert "exactly one closed lost stage is needed, found 0" in refusal(
        [stage("demo", 1, 0.2, "pipeline"), WON]
    )


def test_stages_that_are_all_closed_are_refused() -> None:
    assert "at least one open stage" in refusal([WON, LOST])


def test_a_probability_outside_0_to_1_is_refused() -> None:
    assert "probability must be within 0-1, got 1.5" in refusal(
        [stage("demo", 1, 1.5, "pipeline"), WON, LOST]
    )


def test_a_won_stage_that_is_not_closed_is_refused() -> None:
    assert "a won stage is a closed stage" in refusal(
        [stage("demo", 1, 1.0, "commit", is_won=True), WON, LOST]
    )


def test_a_closed_won_stage_short_of_certain_is_refused() -> None:
    shaky_win = stage("won", 90, 0.9, "closed", is_closed=True, is_won=True)
    assert "needs probability 1" in refusal([stage("demo", 1, 0.2, "pipeline"), shaky_win, LOST])


def test_an_unknown_stage_field_is_refused_by_name() -> None:
    assert "unknown field 'probabilty'" in refusal(
        [{**stage("demo", 1, 0.2, "pipeline"), "probabilty": 0.3}, WON, LOST]
    )


def test_lost_reasons_must_be_unique_and_not_blank() -> None:
    with pytest.raises(ValidationError, match="repeated: price"):
        LostReasons(reasons=("price", "price"))
    with pytest.raises(ValidationError, match="must not be blank"):
        LostReasons(reasons=("price", " "))


def test_moving_forward_takes_the_new_stages_probability_and_category() -> None:
    change = move(acme_rocket_skates(), "proposal", DEFAULT_STAGES, DEFAULT_LOST_REASONS, at=NOW)

    assert (change.from_stage, change.to_stage) == ("prospecting", "proposal")
    assert change.state.probability == 0.6
    assert change.state.forecast_category is ForecastCategory.BEST_CASE
    assert change.changed == ("stage", "probability", "forecast_category")
    assert change.stage_changed
    assert not change.won
    assert not change.lost


def test_a_rep_may_set_probability_amount_and_close_date_with_the_move() -> None:
    change = move(
        acme_rocket_skates(),
        "negotiation",
        DEFAULT_STAGES,
        DEFAULT_LOST_REASONS,
        amount=Decimal("61000"),
        close_date=date(2027, 1, 20),
        probability=0.7,
        at=NOW,
    )

    assert change.state.probability == 0.7
    assert change.state.amount == Decimal("61000")
    assert change.state.close_date == date(2027, 1, 20)
    assert change.changed == ("stage", "probability", "forecast_category", "amount", "close_date")


def test_updating_in_place_changes_no_stage() -> None:
    state = acme_rocket_skates(
        stage="proposal", probability=0.55, forecast_category=ForecastCategory.BEST_CASE
    )

    change = move(state, "proposal", DEFAULT_STAGES, DEFAULT_LOST_REASONS, amount=Decimal("52000"), at=NOW)

    assert change.changed == ("amount",)
    assert change.state.probability == 0.55
    assert not change.stage_changed


def test_a_move_that_changes_nothing_says_so() -> None:
    change = move(acme_rocket_skates(), "prospecting", DEFAULT_STAGES, DEFAULT_LOST_REASONS, at=NOW)

    assert change.is_noop


def test_a_move_to_an_unknown_stage_is_refused() -> None:
    with pytest.raises(UnknownStage, match="unknown stage 'handshake'"):
        move(acme_rocket_skates(), "handshake", DEFAULT_STAGES, DEFAULT_LOST_REASONS, at=NOW)


def test_closing_won_records_the_day_and_says_won() -> None:
    change = move(acme_rocket_skates(), "closed_won", DEFAULT_STAGES, DEFAULT_LOST_REASONS, at=NOW)

    assert change.won
    assert change.state.is_closed
    assert change.state.closed_at == NOW
    assert change.state.close_date == date(2026, 11, 27)
    assert change.state.probability == 1.0
    assert change.state.forecast_category is ForecastCategory.CLOSED


def test_a_closed_opportunity_moves_no_more() -> None:
    won = move(acme_rocket_skates(), "closed_won", DEFAULT_STAGES, DEFAULT_LOST_REASONS, at=NOW).state

    with pytest.raises(StageConflict, match="is closed at 'closed_won'"):
        move(won, "negotiation", DEFAULT_STAGES, DEFAULT_LOST_REASONS, at=NOW)


def test_closing_lost_without_a_reason_is_refused() -> None:
    with pytest.raises(InvalidMove, match="closing lost needs a lost reason, one of: price, competitor"):
        move(acme_rocket_skates(), "closed_lost", DEFAULT_STAGES, DEFAULT_LOST_REASONS, at=NOW)


def test_closing_lost_with_a_reason_not_on_the_list_is_refused() -> None:
    with pytest.raises(InvalidMove, match="unknown lost reason 'road runner was faster'"):
        move(
            acme_rocket_skates(),
            "closed_lost",
            DEFAULT_STAGES,
            DEFAULT_LOST_REASONS,
            lost_reason="road runner was faster",
            at=NOW,
        )


def test_closing_lost_with_a_listed_reason_says_lost() -> None:
    change = move(
        acme_rocket_skates(),
        "closed_lost",
        DEFAULT_STAGES,
        DEFAULT_LOST_REASONS,
        lost_reason="competitor",
        at=NOW,
    )

    assert change.lost
    assert change.state.lost_reason == "competitor"
    assert change.state.probability == 0.0
    assert change.state.forecast_category is ForecastCategory.OMITTED
    assert "lost_reason" in change.changed


def test_a_lost_reason_on_any_other_move_is_refused() -> None:
    with pytest.raises(InvalidMove, match="goes only with closing lost"):
        move(
            acme_rocket_skates(),
            "proposal",
            DEFAULT_STAGES,
            DEFAULT_LOST_REASONS,
            lost_reason="price",
            at=NOW,
        )


def test_a_closed_stage_keeps_its_fixed_probability() -> None:
    with pytest.raises(InvalidMove, match="fixed probability of 1"):
        move(
            acme_rocket_skates(), "closed_won", DEFAULT_STAGES, DEFAULT_LOST_REASONS, probability=0.9, at=NOW
        )


@pytest.mark.parametrize(
    ("amount", "probability", "message"),
    [(Decimal("-1"), None, "amount must not be negative"), (None, 1.2, "probability must be within 0-1")],
)
def test_a_negative_amount_or_probability_out_of_range_is_refused(
    amount: Decimal | None, probability: float | None, message: str
) -> None:
    with pytest.raises(InvalidMove, match=message):
        move(
            acme_rocket_skates(),
            "proposal",
            DEFAULT_STAGES,
            DEFAULT_LOST_REASONS,
            amount=amount,
            probability=probability,
            at=NOW,
        )


def test_stages_and_lost_reasons_survive_a_round_trip_through_json() -> None:
    assert StageSet.model_validate_json(DEFAULT_STAGES.model_dump_json()) == DEFAULT_STAGES
    assert LostReasons.model_validate_json(DEFAULT_LOST_REASONS.model_dump_json()) == DEFAULT_LOST_REASONS
