"""What sales do through the API: contact a lead, report what they learned, qualify or disqualify by hand."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.adapters.repository import LeadRow
from leadflow_qualification.domain.decision import Decision
from leadflow_qualification.domain.statuses import BaseCategory, TransitionNotAllowed, category_path
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases.judging import (
    LeadNotFound,
    decide,
    disqualified_event,
    judge,
    move,
    qualified_event,
)
from leadflow_shared.bounds import MAX_TEXT, Money, Name, Text, no_nul
from leadflow_shared.contracts.events import DisqualificationReason
from leadflow_shared.uow import UnitOfWork

Reason = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(no_nul)]
# Timelines past ten years are "never"; beyond that a date cannot be computed from them.
MAX_DAYS = 3650


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Contacted(_Body):
    """A salesperson reached the lead."""

    actor: Name = Field(description="who made contact")
    note: Text = ""


class SalesReport(_Body):
    """What a salesperson learned; fields left out keep what was known."""

    actor: Name
    need: bool | None = None
    authority: bool | None = None
    budget: bool | None = None
    budget_amount: Money | None = None
    timeline_days: int | None = Field(default=None, ge=0, le=MAX_DAYS)
    note: Text = ""


class ManualQualify(_Body):
    """A person qualifies the lead whatever the criteria say."""

    actor: Name
    reason: Reason


class ManualDisqualify(_Body):
    """A person disqualifies the lead; nurturable defaults to what the criteria say for the reason."""

    actor: Name
    reason: DisqualificationReason
    note: Text = ""
    nurturable: bool | None = None


class StatusChange(_Body):
    """A move between working statuses (open and contacted categories, custom ones included)."""

    status: Name
    actor: Name
    reason: Reason


class NotAWorkingStatus(ValueError):
    """Qualified, disqualified and converted are reached through their own endpoints or rules."""


async def _lead(uow: UnitOfWork, lead_id: UUID) -> LeadRow:
    lead = await repo.lock_lead(uow.conn, lead_id)
    if lead is None or lead.merged_into is not None:
        raise LeadNotFound(lead_id)
    return lead


async def mark_contacted(uow: UnitOfWork, config: cfg.Config, lead_id: UUID, body: Contacted) -> None:
    """The lead moves to contacted (TransitionNotAllowed when it cannot)."""
    lead = await _lead(uow, lead_id)
    target = config.catalog.default_for(BaseCategory.CONTACTED).name
    reason = "contacted" + (f": {body.note}" if body.note else "")
    await move(uow, config, lead, target, reason=reason, actor=body.actor, causation=None)


async def change_status(uow: UnitOfWork, config: cfg.Config, lead_id: UUID, body: StatusChange) -> None:
    """Move a lead between working statuses, custom ones included."""
    lead = await _lead(uow, lead_id)
    category = config.catalog.category_of(body.status)
    if category not in (BaseCategory.OPEN, BaseCategory.CONTACTED):
        raise NotAWorkingStatus(
            f"status {body.status!r} is in category {category}; use /qualify or /disqualify "
            "(converted follows opportunity, archived follows nurture or a disqualification)"
        )
    await move(uow, config, lead, body.status, reason=body.reason, actor=body.actor, causation=None)
    # A person's decision: automatic judgements may carry the lead on to qualified, never back out of play.
    await repo.set_override(uow.conn, lead.id, True)


async def report(uow: UnitOfWork, config: cfg.Config, lead_id: UUID, body: SalesReport) -> Decision:
    """Keep what sales learned (progress) and judge the lead again."""
    lead = await _lead(uow, lead_id)
    learned = body.model_dump(exclude={"actor"}, exclude_none=True)
    if not learned.get("note"):
        learned.pop("note", None)
    lead.sales_input = lead.sales_input.model_copy(update=learned)
    await repo.set_sales_input(uow.conn, lead.id, lead.sales_input)
    decision, _ = await judge(uow, config, lead, None, cause=f"sales report by {body.actor}", progress=True)
    return decision


async def qualify(uow: UnitOfWork, config: cfg.Config, lead_id: UUID, body: ManualQualify) -> None:
    """A person's override: the lead is qualified and stays so until a person or nurture says otherwise."""
    lead = await _lead(uow, lead_id)
    target = config.catalog.default_for(BaseCategory.QUALIFIED).name
    if target not in config.catalog.allowed_targets(lead.status):
        raise TransitionNotAllowed(lead.status, target, config.catalog.allowed_targets(lead.status))
    decision = await decide(uow, config, lead, cause=f"manual qualify by {body.actor}", progress=True)
    await move(
        uow, config, lead, target, reason=f"manual override: {body.reason}", actor=body.actor, causation=None
    )
    await repo.set_override(uow.conn, lead.id, True)
    await uow.outbox.emit(qualified_event(lead, decision, manual=True))


async def disqualify(uow: UnitOfWork, config: cfg.Config, lead_id: UUID, body: ManualDisqualify) -> None:
    """A person's override: nurturable leads go to nurturing, the rest are archived."""
    lead = await _lead(uow, lead_id)
    nurturable = (
        body.nurturable if body.nurturable is not None else config.criteria.is_nurturable(body.reason)
    )
    goal = BaseCategory.NURTURING if nurturable else BaseCategory.ARCHIVED
    path = category_path(config.catalog.category_of(lead.status), goal)
    if not path:
        target = config.catalog.default_for(goal).name
        raise TransitionNotAllowed(lead.status, target, config.catalog.allowed_targets(lead.status))
    decision = await decide(uow, config, lead, cause=f"manual disqualify by {body.actor}", progress=True)
    reason = f"manual override: {body.reason}" + (f" ({body.note})" if body.note else "")
    for step in path:
        await move(
            uow,
            config,
            lead,
            config.catalog.default_for(step).name,
            reason=reason,
            actor=body.actor,
            causation=None,
            reason_code=body.reason.value,
        )
    await repo.set_override(uow.conn, lead.id, True)
    await uow.outbox.emit(disqualified_event(lead, decision, body.reason, nurturable, manual=True))
