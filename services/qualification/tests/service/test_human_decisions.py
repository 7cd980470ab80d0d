"""A person's decisions hold: a lead reopened or moved by hand is not taken out of play automatically."""

from __future__ import annotations

import pytest

from leadflow_qualification.domain.simulation import SimulationScope
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases import pipeline_events, reports, sales
from leadflow_qualification.use_cases.staleness import sweep
from leadflow_shared.contracts.envelope import new_event
from leadflow_shared.contracts.events import LeadRequalificationRequested
from leadflow_shared.uow import UnitOfWorkFactory

from .conftest import current
from .test_qualification_flow import capture, history, lead, lindqvist, uows

pytestmark = pytest.mark.service
__all__ = ["uows"]


async def reopen(uows: UnitOfWorkFactory, lead_id, actor: str = "maria@sales") -> None:
    request = LeadRequalificationRequested(lead_id=lead_id, reason="met her at the fair", actor=actor)
    async with uows() as uow:
        await pipeline_events.requalification_requested(
            uow, await current(uow), request, new_event(request, source="nurture")
        )


async def test_an_archive_reversed_by_hand_reopens_the_lead_as_that_persons_decision(
    uows: UnitOfWorkFactory,
) -> None:
    lead_id = await capture(uows, lindqvist("Lucia", country="BR"))
    assert (await lead(uows, lead_id))["status"] == "archived"
    await reopen(uows, lead_id)
    row = await lead(uows, lead_id)
    assert (row["status"], row["manual_override"]) == ("open", True)
    assert (await history(uows, lead_id))[-1] == ("archived", "open", "maria@sales")


async def test_a_criteria_change_does_not_re_archive_a_lead_reopened_by_hand_unless_asked(
    uows: UnitOfWorkFactory,
) -> None:
    lead_id = await capture(uows, lindqvist("Beatriz", country="BR"))
    await reopen(uows, lead_id)
    # What PUT /v1/criteria?apply_to=non_terminal does after storing a version (the e2e test stores one;
    # here the version in force stays, as the other service tests expect).
    await reports.reapply(uows, cfg.ConfigStore(), SimulationScope.NON_TERMINAL)
    assert (await lead(uows, lead_id))["status"] == "open", "a person's reopening holds"

    await reports.reapply(uows, cfg.ConfigStore(), SimulationScope.NON_TERMINAL, overrides=True)
    row = await lead(uows, lead_id)
    assert (row["status"], row["manual_override"]) == ("archived", False)


async def test_the_staleness_sweep_leaves_a_lead_reopened_by_hand_in_play(uows: UnitOfWorkFactory) -> None:
    lead_id = await capture(uows, lindqvist("Carmen", country="BR"))
    await reopen(uows, lead_id)
    limits = {"open": {"stale_after_hours": 0.000001, "unresponsive_after_hours": 0.000002}}
    async with uows() as uow:
        before = (await current(uow)).staleness.model_dump(mode="json")
        await cfg.put_simple(uow.conn, cfg.STALENESS, {"limits": limits}, "test")
    try:
        await sweep(uows, cfg.ConfigStore())
        row = await lead(uows, lead_id)
        assert (row["status"], row["stale"]) == ("open", True), (
            "flagged stale, yet left where the person put it"
        )
    finally:
        async with uows() as uow:
            await cfg.put_simple(uow.conn, cfg.STALENESS, before, "test")


async def test_a_lead_moved_by_hand_may_still_qualify_on_its_own(uows: UnitOfWorkFactory) -> None:
    lead_id = await capture(uows, lindqvist("Dolores", answers={}))
    async with uows() as uow:
        await sales.change_status(
            uow,
            await current(uow),
            lead_id,
            sales.StatusChange(status="contacted", actor="maria@sales", reason="called"),
        )
    assert (await lead(uows, lead_id))["manual_override"] is True
    async with uows() as uow:
        await sales.report(
            uow,
            await current(uow),
            lead_id,
            sales.SalesReport(actor="maria@sales", need=True, authority=True, budget=True),
        )
    assert (await lead(uows, lead_id))["status"] == "qualified"
