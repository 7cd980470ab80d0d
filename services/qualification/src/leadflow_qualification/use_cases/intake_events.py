"""React to what intake emits: capture, update, merge and engagement each lead to a new judgement."""

from __future__ import annotations

from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.domain.facts import Activity
from leadflow_qualification.domain.statuses import BaseCategory
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases.judging import assign_owner, judge, move
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    LeadCaptured,
    LeadEngaged,
    LeadMerged,
    LeadStatusChanged,
    LeadUpdated,
)
from leadflow_shared.uow import UnitOfWork

CAPTURE_ACTOR = "rule:capture"


async def lead_captured(uow: UnitOfWork, event: LeadCaptured, envelope: Envelope) -> None:
    """A new lead is open (kept and emitted), gets an owner, then is judged."""
    config = await cfg.load(uow.conn)
    opening = config.catalog.default_for(BaseCategory.OPEN).name
    created = await repo.insert_lead(uow.conn, event.lead_id, opening, "open", event.profile, event.touch)
    if not created:
        return
    reason = f"captured from {event.touch.source_system} ({event.touch.channel})"
    await repo.add_history(uow.conn, event.lead_id, None, opening, "open", reason, CAPTURE_ACTOR)
    await uow.outbox.emit(
        LeadStatusChanged(
            lead_id=event.lead_id,
            from_status=None,
            to_status=opening,
            category="open",
            reason=reason,
            actor=CAPTURE_ACTOR,
        ),
        causation=envelope,
    )
    lead = await repo.lock_lead(uow.conn, event.lead_id)
    assert lead is not None  # inserted above in this transaction
    await assign_owner(uow, config, lead, envelope)
    await judge(uow, config, lead, envelope, cause="captured")


async def lead_updated(uow: UnitOfWork, event: LeadUpdated, envelope: Envelope) -> None:
    """The same person was seen again: keep the profile current and judge again."""
    lead = await repo.update_profile(uow.conn, event.lead_id, event.profile)
    if lead is None or lead.merged_into is not None:
        return
    await judge(uow, await cfg.load(uow.conn), lead, envelope, cause="updated")


async def lead_merged(uow: UnitOfWork, event: LeadMerged, envelope: Envelope) -> None:
    """Fold the merged lead into the survivor: activities and sales input move, the merged one is archived."""
    config = await cfg.load(uow.conn)
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


async def lead_engaged(uow: UnitOfWork, event: LeadEngaged, envelope: Envelope) -> None:
    """Keep the activity for engagement scoring and triggers; the engagement is progress; judge again."""
    activity = Activity(
        activity_type=event.activity_type, occurred_at=event.occurred_at, trigger=event.trigger
    )
    if not await repo.insert_activity(uow.conn, event.lead_id, event.activity_id, activity):
        return
    lead = await repo.lock_lead(uow.conn, event.lead_id)
    if lead is None or lead.merged_into is not None:
        return
    await judge(
        uow, await cfg.load(uow.conn), lead, envelope, cause=f"engaged: {event.activity_type}", progress=True
    )
