"""Fold one lead into another and back: the survivor keeps every touch, key and activity until the merge is
undone; lead.merged and lead.unmerged tell all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID, uuid4

from leadflow_intake.adapters import repository as repo
from leadflow_intake.domain.dedup import merge_profiles
from leadflow_intake.domain.unmerge import merge_changes, unmerged_profile
from leadflow_shared.contracts.events import LeadMerged, LeadUnmerged
from leadflow_shared.contracts.lead import LeadProfile
from leadflow_shared.uow import UnitOfWork


@dataclass(frozen=True)
class Decision:
    """What became of a duplicate pair."""

    outcome: Literal["merged", "dismissed", "not_found", "conflict"]
    survivor: UUID | None = None
    merged: UUID | None = None
    message: str = ""


async def merge_leads(
    uow: UnitOfWork, survivor: UUID, loser: UUID, correlation_id: str | None = None
) -> None:
    """Merge loser into survivor in the current unit of work, keep what moved, and emit lead.merged."""
    profiles = await repo.lock_profiles_by_id(uow.conn, [survivor, loser])
    kept = profiles[survivor]
    profile = merge_profiles(kept, profiles[loser])
    await repo.update_lead(uow.conn, survivor, profile)
    moved = await repo.fold_lead(uow.conn, survivor, loser)
    await repo.record_merge(uow.conn, uuid4(), survivor, loser, moved, merge_changes(kept, profile))
    await uow.outbox.emit(
        LeadMerged(lead_id=survivor, merged_id=loser, profile=profile), correlation_id=correlation_id
    )


@dataclass(frozen=True)
class Unmerge:
    """What became of an unmerge request."""

    outcome: Literal["unmerged", "not_found", "conflict"]
    survivor: UUID | None = None
    profile: LeadProfile | None = None
    survivor_profile: LeadProfile | None = None
    message: str = ""


async def unmerge_lead(
    uow: UnitOfWork, lead_id: UUID, *, actor: str, reason: str, correlation_id: str | None = None
) -> Unmerge:
    """Undo the merge of this lead: it is live again with its own touches, keys, activities and consent
    changes; the survivor loses what the merge filled in (unless changed since); emit lead.unmerged."""
    conn = uow.conn
    found, survivor = await repo.lock_lead_state(conn, lead_id)
    if not found:
        return Unmerge("not_found", message=f"no lead {lead_id}")
    if survivor is None:
        return Unmerge("conflict", message=f"lead {lead_id} is not merged")
    record = await repo.merge_in_force(conn, lead_id)
    if record is None:
        return Unmerge(
            "conflict",
            survivor,
            message=f"lead {lead_id} was merged into {survivor} before merges were recorded: its touches"
            " cannot be told apart",
        )
    if record.survivor_id != survivor:
        return Unmerge(
            "conflict",
            survivor,
            message=f"lead {record.survivor_id}, which {lead_id} was merged into, was merged into {survivor}"
            f" since: unmerge {record.survivor_id} first",
        )
    stored = await repo.lock_profiles(conn, [survivor, lead_id])
    survivor_profile, _ = unmerged_profile(stored[survivor].profile, record.survivor_changes)
    await repo.update_lead(conn, survivor, survivor_profile)
    await repo.restore_lead(conn, record, lead_id, actor, reason)
    profile = stored[lead_id].profile
    await uow.outbox.emit(
        LeadUnmerged(
            lead_id=lead_id,
            survivor_id=survivor,
            profile=profile,
            survivor_profile=survivor_profile,
            activity_ids=[activity_id for _, activity_id in record.moved.activities],
            actor=actor,
            reason=reason,
        ),
        correlation_id=correlation_id,
    )
    return Unmerge("unmerged", survivor, profile, survivor_profile)


async def decide_duplicate(
    uow: UnitOfWork,
    duplicate_id: UUID,
    action: Literal["merge", "dismiss"],
    *,
    survivor: UUID | None = None,
    correlation_id: str | None = None,
) -> Decision:
    """Merge or dismiss a listed pair; repeating the same decision answers the same again."""
    pair = await repo.lock_duplicate(uow.conn, duplicate_id)
    if pair is None:
        return Decision("not_found", message=f"no duplicate pair {duplicate_id}")
    done = {"merge": "merged", "dismiss": "dismissed"}[action]
    if pair["status"] != "open":
        if pair["status"] == done:
            return Decision(done, message=f"pair was {done} before")  # type: ignore[arg-type]
        return Decision("conflict", message=f"pair was {pair['status']} already")
    if action == "dismiss":
        await repo.mark_duplicate(uow.conn, duplicate_id, "dismissed")
        return Decision("dismissed")
    members = {pair["lead_id"], pair["candidate_id"]}
    if survivor is not None and survivor not in members:
        return Decision("conflict", message=f"survivor {survivor} is not one of the pair")
    # The older lead (the candidate) survives by default: other services have known it longest.
    keep = survivor or pair["candidate_id"]
    drop = pair["lead_id"] if keep == pair["candidate_id"] else pair["candidate_id"]
    keep_live = await repo.resolve_lead(uow.conn, keep, None)
    drop_live = await repo.resolve_lead(uow.conn, drop, None)
    if keep_live is None or drop_live is None:
        return Decision("not_found", message="a lead of the pair no longer exists")
    if keep_live != drop_live:
        await merge_leads(uow, keep_live, drop_live, correlation_id)
    await repo.mark_duplicate(uow.conn, duplicate_id, "merged")
    return Decision("merged", survivor=keep_live, merged=drop_live)
