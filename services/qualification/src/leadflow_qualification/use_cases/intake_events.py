"""React to what intake emits: capture, update, merge and engagement each lead to a new judgement."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar
from uuid import UUID

import structlog

from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.adapters.repository import LeadRow, StatusChange
from leadflow_qualification.domain.facts import Activity
from leadflow_qualification.domain.statuses import BaseCategory
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases.judging import assign_owner, judge, move
from leadflow_qualification.use_cases.writes import BatchedWrites, Writes
from leadflow_shared import metrics
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    LeadCaptured,
    LeadEngaged,
    LeadMerged,
    LeadStatusChanged,
    LeadUnmerged,
    LeadUpdated,
)
from leadflow_shared.uow import UnitOfWork

log = structlog.get_logger(__name__)

CAPTURE_ACTOR = "rule:capture"
UNMERGE_ACTOR = "rule:unmerge"

E = TypeVar("E", LeadUpdated, LeadEngaged)


async def lead_captured(uow: UnitOfWork, config: cfg.Config, event: LeadCaptured, envelope: Envelope) -> None:
    """A new lead is open (kept and emitted), gets an owner, then is judged."""
    for lead in await repo.insert_leads(uow.conn, [_new_lead(config, event)]):
        await _open(uow, config, lead, event, envelope, Writes(uow.conn))


async def leads_captured(
    uow: UnitOfWork, config: cfg.Config, items: Sequence[tuple[Envelope, LeadCaptured]]
) -> None:
    """Many captures at once, with the effect of lead_captured on each in turn, in a few statements."""
    if config.assignment is not None and any(team.max_open_leads for team in config.assignment.teams):
        # An owner's cap counts the open leads, which the leads judged before change: one by one.
        for envelope, event in items:
            await lead_captured(uow, config, event, envelope)
        return
    # A lead captured twice is created by the first capture; the second changes nothing.
    firsts: dict[UUID, tuple[Envelope, LeadCaptured]] = {}
    for envelope, event in items:
        firsts.setdefault(event.lead_id, (envelope, event))
    new = [_new_lead(config, event) for _, event in firsts.values()]
    created = {lead.id: lead for lead in await repo.insert_leads(uow.conn, new)}
    writes = BatchedWrites(uow.conn)
    await writes.load_activities(created)
    for envelope, event in firsts.values():
        if event.lead_id in created:
            await _open(uow, config, created[event.lead_id], event, envelope, writes)
    await writes.flush()


def _new_lead(config: cfg.Config, event: LeadCaptured) -> repo.NewLead:
    opening = config.catalog.default_for(BaseCategory.OPEN).name
    return repo.NewLead(event.lead_id, opening, BaseCategory.OPEN.value, event.profile, event.touch)


async def _open(
    uow: UnitOfWork,
    config: cfg.Config,
    lead: LeadRow,
    event: LeadCaptured,
    envelope: Envelope,
    writes: Writes,
) -> None:
    """The new lead's first status is kept and emitted; it gets an owner and is judged."""
    reason = f"captured from {event.touch.source_system} ({event.touch.channel})"
    await writes.change_status(
        StatusChange(lead.id, None, lead.status, lead.category, reason, None, CAPTURE_ACTOR, moves=False)
    )
    await uow.outbox.emit(
        LeadStatusChanged(
            lead_id=lead.id,
            from_status=None,
            to_status=lead.status,
            category=lead.category,
            reason=reason,
            actor=CAPTURE_ACTOR,
        ),
        causation=envelope,
    )
    await assign_owner(uow, config, lead, envelope)
    await judge(uow, config, lead, envelope, cause="captured", writes=writes)


async def lead_updated(uow: UnitOfWork, config: cfg.Config, event: LeadUpdated, envelope: Envelope) -> None:
    """The same person was seen again: keep the profile current and judge again; new facts may bring a lead
    left behind back (no unqualified reason is permanent), a person's override stands."""
    lead = await repo.update_profile(uow.conn, event.lead_id, event.profile)
    if lead is None or lead.merged_into is not None:
        return
    await judge(uow, config, lead, envelope, cause=_updated(event), reopen=bool(event.changed))


async def leads_updated(
    uow: UnitOfWork, config: cfg.Config, items: Sequence[tuple[Envelope, LeadUpdated]]
) -> None:
    """Many updates at once, with the effect of lead_updated on each in turn, in a few statements."""
    once, again = _once_each(items)
    found = await repo.update_profiles(uow.conn, [(event.lead_id, event.profile) for _, event in once])
    await _judge_each(
        uow, config, once, found, _updated, progress=False, reopen=lambda event: bool(event.changed)
    )
    for envelope, event in again:
        await lead_updated(uow, config, event, envelope)


async def lead_merged(uow: UnitOfWork, config: cfg.Config, event: LeadMerged, envelope: Envelope) -> None:
    """Fold the merged lead into the survivor: activities and sales input move, the merged one is archived."""
    survivor = await repo.update_profile(uow.conn, event.lead_id, event.profile)
    if survivor is None:
        await repo.insert_lead(uow.conn, event.lead_id, "open", "open", event.profile, None)
        await repo.add_history(uow.conn, event.lead_id, None, "open", "open", "merge survivor", "rule:merge")
        survivor = await repo.lock_lead(uow.conn, event.lead_id)
        assert survivor is not None
    merged = await repo.lock_lead(uow.conn, event.merged_id)
    if merged is None:
        await repo.insert_merged_tombstone(uow.conn, event.merged_id, event.lead_id, event.profile)
        await repo.add_history(
            uow.conn,
            event.merged_id,
            None,
            "archived",
            "archived",
            f"merged into {event.lead_id}",
            "rule:merge",
        )
    elif merged.merged_into is None:
        await repo.fold_activities(uow.conn, merged.id, survivor.id)
        kept = survivor.sales_input.model_dump(exclude_none=True, exclude_defaults=True)
        folded = merged.sales_input.model_copy(update=kept)
        if folded != survivor.sales_input:
            await repo.set_sales_input(uow.conn, survivor.id, folded)
            survivor.sales_input = folded
        await repo.mark_merged(uow.conn, merged.id, survivor.id)
        archived = config.catalog.default_for(BaseCategory.ARCHIVED).name
        if archived in config.catalog.allowed_targets(merged.status):
            await move(
                uow,
                config,
                merged,
                archived,
                reason=f"merged into {survivor.id}",
                actor="rule:merge",
                causation=envelope,
            )
    await judge(uow, config, survivor, envelope, cause=f"merged with {event.merged_id}")


async def lead_unmerged(uow: UnitOfWork, config: cfg.Config, event: LeadUnmerged, envelope: Envelope) -> None:
    """Undo a merge: the restored lead is live again with its own profile and activities, reopened from the
    archive the merge put it in and judged; the survivor, without what the merge brought, is judged again."""
    survivor = await repo.update_profile(uow.conn, event.survivor_id, event.survivor_profile)
    known = await repo.lock_lead(uow.conn, event.lead_id)
    if known is None:
        opening = config.catalog.default_for(BaseCategory.OPEN)
        await repo.insert_lead(
            uow.conn, event.lead_id, opening.name, opening.category.value, event.profile, None
        )
        await repo.add_history(
            uow.conn, event.lead_id, None, opening.name, opening.category.value, "unmerged", UNMERGE_ACTOR
        )
    elif known.merged_into is not None:
        await repo.unmark_merged(uow.conn, known.id)
        await repo.fold_activities(uow.conn, known.merged_into, known.id, only=event.activity_ids)
    restored = await repo.update_profile(uow.conn, event.lead_id, event.profile)
    assert restored is not None
    cause = f"unmerged from {event.survivor_id} by {event.actor}: {event.reason}"
    await judge(uow, config, restored, envelope, cause=cause, requalify=True)
    if survivor is not None and survivor.merged_into is None:
        await judge(uow, config, survivor, envelope, cause=f"unmerged {event.lead_id}", reopen=True)


async def lead_engaged(uow: UnitOfWork, config: cfg.Config, event: LeadEngaged, envelope: Envelope) -> None:
    """Keep the activity for engagement scoring and triggers; the engagement is progress; judge again."""
    if not await repo.insert_activity(uow.conn, event.lead_id, event.activity_id, _activity(event)):
        return
    lead = await repo.lock_lead(uow.conn, event.lead_id)
    if lead is None:
        _parked([event.lead_id])
        return
    if lead.merged_into is not None:
        return
    await judge(uow, config, lead, envelope, cause=_engaged(event), progress=True)


async def leads_engaged(
    uow: UnitOfWork, config: cfg.Config, items: Sequence[tuple[Envelope, LeadEngaged]]
) -> None:
    """Many engagements at once, with the effect of lead_engaged on each in turn, in a few statements."""
    once, again = _once_each(items)
    new = await repo.insert_activities(
        uow.conn, [(event.lead_id, event.activity_id, _activity(event)) for _, event in once]
    )
    fresh = [(envelope, event) for envelope, event in once if (event.lead_id, event.activity_id) in new]
    found = await repo.lock_leads(uow.conn, [event.lead_id for _, event in fresh])
    known = {lead.id for lead in found}
    _parked([event.lead_id for _, event in fresh if event.lead_id not in known])
    await _judge_each(uow, config, fresh, found, _engaged, progress=True)
    for envelope, event in again:
        await lead_engaged(uow, config, event, envelope)


async def _judge_each(
    uow: UnitOfWork,
    config: cfg.Config,
    items: list[tuple[Envelope, E]],
    found: list[LeadRow],
    cause: Callable[[E], str],
    *,
    progress: bool,
    reopen: Callable[[E], bool] = lambda _: False,
) -> None:
    """Judge each unmerged lead found for its event, and write the judgements in bulk."""
    writes = BatchedWrites(uow.conn)
    leads = {lead.id: lead for lead in found if lead.merged_into is None}
    await writes.load_activities(leads)
    for envelope, event in items:
        if event.lead_id in leads:
            lead = leads[event.lead_id]
            await judge(
                uow,
                config,
                lead,
                envelope,
                cause=cause(event),
                progress=progress,
                reopen=reopen(event),
                writes=writes,
            )
    await writes.flush()


def _parked(lead_ids: list[UUID]) -> None:
    """Count engagements kept for leads whose capture has not come: it judges them with it when it does.

    Not a dead letter: the activity waits in `activities`, as a lead's capture may come after its engagement
    (a capture replayed from the dead-letter topic, a lead merged before its capture reached us).
    """
    if lead_ids:
        metrics.EVENTS_PARKED.labels("qualification", "unknown_lead").inc(len(lead_ids))
        log.info("engagement kept until its lead's capture arrives", lead_ids=[str(i) for i in lead_ids])


def _activity(event: LeadEngaged) -> Activity:
    return Activity(activity_type=event.activity_type, occurred_at=event.occurred_at, trigger=event.trigger)


def _updated(event: LeadUpdated) -> str:
    return f"updated: {', '.join(event.changed)}" if event.changed else "updated"


def _engaged(event: LeadEngaged) -> str:
    return f"engaged: {event.activity_type}"


def _once_each(
    items: Sequence[tuple[Envelope, E]],
) -> tuple[list[tuple[Envelope, E]], list[tuple[Envelope, E]]]:
    """The items of leads that occur once, and the others in order (a lead's second event sees its first)."""
    seen = Counter(event.lead_id for _, event in items)
    once = [item for item in items if seen[item[1].lead_id] == 1]
    return once, [item for item in items if seen[item[1].lead_id] > 1]
