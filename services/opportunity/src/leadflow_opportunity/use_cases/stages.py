"""Moving opportunities between stages, with history and events."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from leadflow_opportunity.adapters import repository as repo
from leadflow_opportunity.adapters.config_store import Configuration
from leadflow_opportunity.domain.stages import OpportunityState, StageMove, move
from leadflow_shared.contracts.events import (
    EventData,
    OpportunityLost,
    OpportunityStageChanged,
    OpportunityUpdated,
    OpportunityWon,
)
from leadflow_shared.uow import UnitOfWork


class OpportunityNotFound(LookupError):
    """No opportunity has that id."""


UPDATED_FIELDS = ("amount", "close_date")


def events_of(moved: StageMove) -> list[EventData]:
    """The events a move announces: stage_changed on a new stage, updated when the amount or close date
    changed, then won or lost when it closes."""
    s: OpportunityState = moved.state
    events: list[EventData] = []
    if moved.stage_changed:
        events.append(
            OpportunityStageChanged(
                opportunity_id=s.opportunity_id,
                lead_id=s.lead_id,
                from_stage=moved.from_stage,
                to_stage=moved.to_stage,
                probability=s.probability,
                forecast_category=s.forecast_category.value,
                amount=s.amount,
            )
        )
    updated = [name for name in UPDATED_FIELDS if name in moved.changed]
    if updated:
        events.append(
            OpportunityUpdated(
                opportunity_id=s.opportunity_id,
                lead_id=s.lead_id,
                changed=updated,
                amount=s.amount,
                close_date=s.close_date,
                previous_amount=moved.previous.amount,
                previous_close_date=moved.previous.close_date,
                stage=s.stage,
            )
        )
    if moved.won:
        events.append(
            OpportunityWon(
                opportunity_id=s.opportunity_id, lead_id=s.lead_id, contact_id=s.contact_id, amount=s.amount
            )
        )
    if moved.lost:
        events.append(
            OpportunityLost(
                opportunity_id=s.opportunity_id,
                lead_id=s.lead_id,
                contact_id=s.contact_id,
                amount=s.amount,
                lost_reason=s.lost_reason or "",
            )
        )
    return events


async def move_opportunity(
    uow: UnitOfWork,
    config: Configuration,
    opportunity_id: UUID,
    *,
    stage: str,
    actor: str,
    now: datetime,
    lost_reason: str | None = None,
    amount: Decimal | None = None,
    close_date: date | None = None,
    probability: float | None = None,
) -> StageMove:
    """Apply the stage rules; store the new state and its history row and emit its events in one unit."""
    state = await repo.opportunity_for_update(uow.conn, opportunity_id)
    if state is None:
        raise OpportunityNotFound(f"no opportunity {opportunity_id}")
    moved = move(
        state,
        stage,
        config.stages,
        config.lost_reasons,
        lost_reason=lost_reason,
        amount=amount,
        close_date=close_date,
        probability=probability,
        at=now,
    )
    if moved.is_noop:
        return moved
    await repo.record_move(uow.conn, moved, actor)
    events = events_of(moved)
    if events:
        await uow.outbox.emit_many([(e, None) for e in events])
    return moved
