"""An undone merge on a real Postgres: the restored lead comes back from the archive with its activities."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from leadflow_qualification.use_cases import intake_events
from leadflow_shared.contracts.envelope import new_event
from leadflow_shared.contracts.events import LeadEngaged, LeadMerged, LeadUnmerged
from leadflow_shared.contracts.lead import ActivityType
from leadflow_shared.uow import UnitOfWorkFactory

from .conftest import current
from .test_qualification_flow import capture, history, lead, lindqvist, uows

pytestmark = pytest.mark.service
__all__ = ["uows"]


async def test_an_unmerged_lead_is_restored_with_its_activities_and_judged_again(
    uows: UnitOfWorkFactory,
) -> None:
    survivor_profile = lindqvist("Hana", answers={})
    survivor = await capture(uows, survivor_profile)
    other = await capture(uows, lindqvist("Hanna", answers={}))
    assert (await lead(uows, other))["status"] == "open"
    other_profile = lindqvist("Hanna")
    webinar = LeadEngaged(
        lead_id=other,
        activity_id=f"webinar-{uuid.uuid4().hex[:6]}",
        activity_type=ActivityType.WEBINAR_ATTENDED,
        occurred_at=datetime.now(UTC),
    )
    merged = LeadMerged(lead_id=survivor, merged_id=other, profile=other_profile)
    async with uows() as uow:
        await intake_events.lead_engaged(
            uow, await current(uow), webinar, new_event(webinar, source="intake")
        )
        await intake_events.lead_merged(uow, await current(uow), merged, new_event(merged, source="intake"))
    assert (await lead(uows, other))["status"] == "archived"

    unmerged = LeadUnmerged(
        lead_id=other,
        survivor_id=survivor,
        profile=other_profile,
        survivor_profile=survivor_profile,
        activity_ids=[webinar.activity_id],
        actor="lea@ops",
        reason="two people",
    )
    async with uows() as uow:
        await intake_events.lead_unmerged(
            uow, await current(uow), unmerged, new_event(unmerged, source="intake")
        )

    restored = await lead(uows, other)
    assert restored["merged_into"] is None
    assert restored["status"] == "qualified"
    moves = [(f, t, actor.split(" ")[0]) for f, t, actor in await history(uows, other)]
    assert moves[-3:] == [
        ("open", "archived", "rule:merge"),
        ("archived", "open", "rule:criteria"),
        ("open", "qualified", "rule:criteria"),
    ]
    async with uows.pool.acquire() as conn:
        owner = await conn.fetchval(
            "SELECT lead_id FROM activities WHERE activity_id = $1", webinar.activity_id
        )
        cause = await conn.fetchval(
            "SELECT cause FROM decisions WHERE lead_id = $1 ORDER BY id DESC LIMIT 1", other
        )
    assert owner == other
    assert "unmerged" in cause
    assert (await lead(uows, survivor))["profile"]["answers"]["need"] is None


async def test_an_unmerge_of_a_lead_never_seen_here_creates_it_and_judges_it(uows: UnitOfWorkFactory) -> None:
    survivor = await capture(uows, lindqvist("Ilse"))
    stranger = uuid.uuid4()
    unmerged = LeadUnmerged(
        lead_id=stranger,
        survivor_id=survivor,
        profile=lindqvist("Ilsa"),
        survivor_profile=lindqvist("Ilse"),
        actor="lea@ops",
        reason="two people",
    )
    async with uows() as uow:
        await intake_events.lead_unmerged(
            uow, await current(uow), unmerged, new_event(unmerged, source="intake")
        )
    assert (await lead(uows, stranger))["status"] == "qualified"
    assert (await history(uows, stranger))[0] == (None, "open", "rule:unmerge")
