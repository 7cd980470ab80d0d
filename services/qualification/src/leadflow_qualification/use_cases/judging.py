"""Judging a lead and moving it: every change checked, kept in the history and emitted in one unit of work."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.adapters.repository import DecisionMade, LeadRow, StatusChange
from leadflow_qualification.domain.assignment import TeamState, assign, route
from leadflow_qualification.domain.decision import Decision, Outcome, evaluate, next_statuses
from leadflow_qualification.domain.facts import LeadFacts
from leadflow_qualification.domain.statuses import BaseCategory, check_transition
from leadflow_qualification.use_cases.config import Config
from leadflow_qualification.use_cases.writes import Writes
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    DisqualificationReason,
    LeadAssigned,
    LeadDisqualified,
    LeadQualified,
    LeadStatusChanged,
)
from leadflow_shared.contracts.lead import Campaign
from leadflow_shared.uow import UnitOfWork

_LEFT_BEHIND = frozenset({BaseCategory.NURTURING, BaseCategory.UNQUALIFIED, BaseCategory.ARCHIVED})


class LeadNotFound(LookupError):
    """No such lead (or it was merged into another)."""

    def __init__(self, lead_id: UUID) -> None:
        super().__init__(f"no lead {lead_id}")


def now_utc() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


async def move(
    uow: UnitOfWork,
    config: Config,
    lead: LeadRow,
    target: str,
    *,
    reason: str,
    actor: str,
    causation: Envelope | None,
    reason_code: str | None = None,
    writes: Writes | None = None,
) -> None:
    """Move the lead to `target` if the catalog allows it (else TransitionNotAllowed), keep and emit it."""
    status = check_transition(config.catalog, lead.status, target)
    await (writes or Writes(uow.conn)).change_status(
        StatusChange(lead.id, lead.status, status.name, status.category.value, reason, reason_code, actor)
    )
    await uow.outbox.emit(
        LeadStatusChanged(
            lead_id=lead.id,
            from_status=lead.status,
            to_status=status.name,
            category=status.category.value,
            reason=reason,
            actor=actor,
            reason_code=reason_code,
        ),
        causation=causation,
    )
    lead.status, lead.category = status.name, status.category.value


def qualified_event(lead: LeadRow, decision: Decision, manual: bool) -> LeadQualified:
    """What opportunity needs to judge a qualified lead."""
    touch = lead.touch
    return LeadQualified(
        lead_id=lead.id,
        profile=lead.profile,
        fit_score=decision.fit_score,
        engagement_score=decision.engagement_score,
        budget_amount=decision.budget_amount,
        budget_confirmed=decision.budget is True,
        authority=decision.authority is True,
        need=decision.need is True,
        timeline_days=decision.timeline_days,
        channel=touch.channel if touch else None,
        source_system=touch.source_system if touch else None,
        campaign=touch.campaign if touch else Campaign(),
        owner=lead.owner,
        criteria_version=decision.criteria_version,
        manual=manual,
    )


def disqualified_event(
    lead: LeadRow, decision: Decision | None, reason: DisqualificationReason, nurturable: bool, manual: bool
) -> LeadDisqualified:
    """Why the lead is not pursued now, and whether nurture should take it."""
    return LeadDisqualified(
        lead_id=lead.id,
        reason=reason,
        nurturable=nurturable,
        profile=lead.profile,
        fit_score=decision.fit_score if decision else lead.fit_score,
        engagement_score=decision.engagement_score if decision else lead.engagement_score,
        criteria_version=decision.criteria_version if decision else None,
        manual=manual,
    )


async def decide(
    uow: UnitOfWork,
    config: Config,
    lead: LeadRow,
    *,
    cause: str,
    progress: bool = False,
    writes: Writes | None = None,
) -> Decision:
    """Evaluate the lead under the criteria in force and keep the decision with every condition."""
    writes = writes or Writes(uow.conn)
    activities = await writes.activities(lead.id)
    facts = LeadFacts(profile=lead.profile, touches=(lead.touch,) if lead.touch else ())
    decision = evaluate(facts, activities, lead.sales_input, config.rulebook, now_utc())
    await writes.record_decision(DecisionMade(lead.id, decision, cause, progress))
    lead.fit_score, lead.engagement_score = decision.fit_score, decision.engagement_score
    return decision


async def apply_decision(
    uow: UnitOfWork,
    config: Config,
    lead: LeadRow,
    decision: Decision,
    causation: Envelope | None,
    *,
    requalify: bool = False,
    reopen: bool = False,
    writes: Writes | None = None,
) -> bool:
    """Move the lead where the decision points; answer whether it moved.

    A person's override stands unless `requalify`: a lead a person left behind (or qualified) stays where it
    is, and one a person put in play (reopened, moved to a working status) may only go on to qualified.
    `reopen` (new facts) and `requalify` let a lead left behind (nurturing, unqualified, archived) come back
    when the decision says so.
    """
    start = config.catalog.category_of(lead.status)
    goal = decision.target_category()
    if lead.manual_override and not requalify:
        in_play = start in (BaseCategory.OPEN, BaseCategory.CONTACTED)
        if not in_play or goal is not BaseCategory.QUALIFIED:
            return False
    if (requalify or reopen) and start in _LEFT_BEHIND:
        # New facts bring a lead back only to a decision; a requalification request reopens it regardless.
        if goal is start or (goal is None and not requalify):
            return False
        path = (
            (config.catalog.default_for(BaseCategory.OPEN).name,)
            if goal is None
            else next_statuses(config.catalog, lead.status, decision, reopen=True)
        )
    else:
        path = next_statuses(config.catalog, lead.status, decision)
    if not path:
        return False
    actor = f"rule:criteria v{decision.criteria_version}"
    summary = decision.reasons[-1]
    for step in path:
        final = step == path[-1]
        code = decision.reason.value if final and decision.reason else None
        await move(
            uow,
            config,
            lead,
            step,
            reason=summary,
            actor=actor,
            causation=causation,
            reason_code=code,
            writes=writes,
        )
    if decision.outcome is Outcome.QUALIFIED and lead.category == BaseCategory.QUALIFIED:
        await uow.outbox.emit(qualified_event(lead, decision, manual=False), causation=causation)
    elif decision.reason is not None and lead.category in (BaseCategory.NURTURING, BaseCategory.ARCHIVED):
        await uow.outbox.emit(
            disqualified_event(lead, decision, decision.reason, bool(decision.nurturable), manual=False),
            causation=causation,
        )
    return True


async def judge(
    uow: UnitOfWork,
    config: Config,
    lead: LeadRow,
    causation: Envelope | None,
    *,
    cause: str,
    progress: bool = False,
    requalify: bool = False,
    reopen: bool = False,
    writes: Writes | None = None,
) -> tuple[Decision, bool]:
    """Evaluate the lead, keep the decision, move it accordingly; answer the decision and whether it moved."""
    decision = await decide(uow, config, lead, cause=cause, progress=progress, writes=writes)
    moved = await apply_decision(
        uow, config, lead, decision, causation, requalify=requalify, reopen=reopen, writes=writes
    )
    return decision, moved


async def reopen_by_hand(
    uow: UnitOfWork, config: Config, lead: LeadRow, causation: Envelope | None, *, actor: str, reason: str
) -> None:
    """A person reopens a lead left behind: it moves to open as their decision (an override), is judged, and
    goes on to qualified if the criteria say so; no automatic judgement takes it out of play again."""
    decision = await decide(uow, config, lead, cause=f"reopened by {actor}: {reason}", progress=True)
    if config.catalog.category_of(lead.status) in _LEFT_BEHIND:
        opening = config.catalog.default_for(BaseCategory.OPEN).name
        await move(
            uow, config, lead, opening, reason=f"reopened by hand: {reason}", actor=actor, causation=causation
        )
    await repo.set_override(uow.conn, lead.id, True)
    lead.manual_override = True
    await apply_decision(uow, config, lead, decision, causation)


async def assign_owner(uow: UnitOfWork, config: Config, lead: LeadRow, causation: Envelope | None) -> None:
    """Give a new open lead a team and an owner by the routing rules, round-robin under the cap."""
    policy = config.assignment
    if policy is None or lead.owner is not None or lead.category != BaseCategory.OPEN:
        return
    team, _ = route(policy, lead.profile)
    last = await repo.lock_team_cursor(uow.conn, team.name)
    counts = await repo.open_leads_per_owner(uow.conn, team.name) if team.max_open_leads else {}
    choice = assign(policy, lead.profile, {team.name: TeamState(open_leads=counts, last_assigned_index=last)})
    await repo.set_owner(uow.conn, lead.id, choice.owner, choice.team)
    lead.team = choice.team
    if choice.owner is None or choice.member_index is None:
        return
    lead.owner = choice.owner
    await repo.save_team_cursor(uow.conn, choice.team, choice.member_index)
    await uow.outbox.emit(
        LeadAssigned(lead_id=lead.id, owner=choice.owner, team=choice.team), causation=causation
    )
