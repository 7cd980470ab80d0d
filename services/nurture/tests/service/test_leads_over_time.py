"""A person's data over time in nurture: an undone merge's profiles, a lead brought back from the archive."""

from __future__ import annotations

import uuid

import pytest

from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.entrypoints.consumers import subscriptions
from leadflow_nurture.use_cases import lifecycle
from leadflow_shared.contracts.events import LeadUnmerged
from leadflow_shared.uow import UnitOfWorkFactory

from .test_batch_handlers import baker, envelopes, in_groups, one_by_one, status

pytestmark = pytest.mark.service


@pytest.mark.parametrize("run", [one_by_one, in_groups])
async def test_an_unmerge_writes_the_restored_and_the_survivors_profiles(
    uows: UnitOfWorkFactory, run
) -> None:
    restored, survivor = uuid.uuid4(), uuid.uuid4()
    event = LeadUnmerged(
        lead_id=restored,
        survivor_id=survivor,
        profile=baker("rita"),
        survivor_profile=baker("rui"),
        actor="lea@ops",
        reason="two people",
    )
    [intake] = [s for s in subscriptions(TrackStore()) if s.name == "intake"]
    async with uows() as uow:
        await run(intake, uow, envelopes(event))
    rows = await uows.pool.fetch(
        "SELECT id, profile FROM leads WHERE id = ANY($1::uuid[])", [restored, survivor]
    )
    emails = {row["id"]: row["profile"]["email"] for row in rows}
    assert emails == {restored: "rita@pastel-de-nata.example", survivor: "rui@pastel-de-nata.example"}


@pytest.mark.parametrize("run", [one_by_one, in_groups])
async def test_a_lead_qualification_takes_out_of_the_archive_is_no_longer_archived_here(
    uows: UnitOfWorkFactory, run
) -> None:
    back, still = uuid.uuid4(), uuid.uuid4()
    async with uows() as uow:
        await lifecycle.archive_many(
            uow.conn, [(back, "not_icp", "outside the ICP"), (still, "not_icp", "too")]
        )
    [qualification] = [s for s in subscriptions(TrackStore()) if s.name == "qualification"]
    async with uows() as uow:
        await run(
            qualification, uow, envelopes(status(back, "open", "open"), status(still, "archived", "archived"))
        )
    rows = await uows.pool.fetch(
        "SELECT lead_id, reversed_at IS NOT NULL AS reversed FROM archives WHERE lead_id = ANY($1::uuid[])",
        [back, still],
    )
    assert {row["lead_id"]: row["reversed"] for row in rows} == {back: True, still: False}
