"""Opportunity, as a process on real Kafka and Postgres, turns qualified leads into accounts and deals."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import ConsumerRecord

from leadflow_devstack.builders import profile, qualified
from leadflow_devstack.testing import Db, ServiceProcess, TestStack, produce, read_topic, wait_until
from leadflow_shared.contracts.envelope import encode, new_event
from leadflow_shared.contracts.events import LeadQualified
from leadflow_shared.contracts.lead import Campaign
from leadflow_shared.contracts.topics import OPPORTUNITY_EVENTS, QUALIFICATION_EVENTS

pytestmark = pytest.mark.e2e


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def lovelace(first: str, email: str, company: str, campaign: str, *, authority: bool = True) -> LeadQualified:
    """A Lovelace qualified at a trade show, owned by the countess; Joseph names no budget amount."""
    who = profile(first_name=first, last_name="Lovelace", email=email, company=company, company_size=120)
    fields: dict[str, Any] = {
        "fit_score": 77.5,
        "engagement_score": 61.0,
        "budget_amount": Decimal("40000") if first != "Joseph" else None,
        "authority": authority,
        "timeline_days": 30,
        "source_system": "trade-show",
        "campaign": Campaign(campaign_name=campaign),
        "owner": "countess",
    }
    return qualified(fields, profile=who)


def totals_at(pipeline: dict[str, Any], stage: str) -> tuple[int, Decimal]:
    row = next(r for r in pipeline["stages"] if r["stage"] == stage)
    return row["count"], Decimal(str(row["amount"]))


async def test_qualified_leads_become_one_account_and_deals_that_are_won_lost_and_forecast(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    service = running_services["opportunity"]
    read, write = auth(test_stack.tokens["read"]), auth(test_stack.tokens["write"])
    run = uuid.uuid4().hex[:8]
    campaign = f"analytical-engine-roadshow-{run}"
    ada = lovelace("Ada", f"ada.{run}@analytical-engines.example", f"Analytical Engines {run} Ltd", campaign)
    charles = lovelace(
        "Charles", f"charles.{run}@analytical-engines.example", f"Analytical Engines {run}", campaign
    )
    joseph = lovelace(
        "Joseph", f"joseph.{run}@jacquard-looms.example", f"Jacquard Looms {run}", campaign, authority=False
    )
    async with httpx.AsyncClient(base_url=service.url) as client:
        before = (await client.get("/v1/pipeline", headers=read)).json()
    await produce(
        test_stack,
        QUALIFICATION_EVENTS,
        [
            (str(lead.lead_id).encode(), encode(new_event(lead, source="qualification")))
            for lead in (ada, charles, joseph, ada)
        ],
    )
    db = Db(test_stack, "opportunity")
    lead_ids = [ada.lead_id, charles.lead_id, joseph.lead_id]

    async def all_converted() -> bool:
        return bool(
            await db.fetchval("SELECT count(*) = 3 FROM converted_leads WHERE lead_id = ANY($1)", lead_ids)
        )

    await wait_until(all_converted)
    accounts = await db.fetchval(
        "SELECT array_agg(DISTINCT account_id) FROM converted_leads WHERE lead_id = ANY($1)", lead_ids[:2]
    )
    assert len(accounts) == 1
    async with httpx.AsyncClient(base_url=service.url) as client:
        account = (await client.get(f"/v1/accounts/{accounts[0]}", headers=read)).json()
        assert sorted(c["first_name"] for c in account["contacts"]) == ["Ada", "Charles"]
        assert len(account["opportunities"]) == 2
        by_first = {c["first_name"]: c for c in account["contacts"]}
        deal = {o["contact_id"]: o["id"] for o in account["opportunities"]}
        won_id, lost_id = deal[by_first["Ada"]["id"]], deal[by_first["Charles"]["id"]]

        joseph_contact = await db.fetchval(
            "SELECT contact_id FROM converted_leads WHERE lead_id = $1", joseph.lead_id
        )
        contact = (await client.get(f"/v1/contacts/{joseph_contact}", headers=read)).json()
        assert contact["opportunities"] == []
        assert contact["criteria_check"]["unmet"] == ["decision_maker_engaged"]
        signal = await client.post(
            f"/v1/contacts/{joseph_contact}/signals", json={"authority": True}, headers=write
        )
        assert signal.status_code == 200, signal.text
        assert signal.json()["opportunity_id"] is not None

        moves = [
            (won_id, {"stage": "negotiation", "amount": "45000"}),
            (won_id, {"stage": "closed_won"}),
            (lost_id, {"stage": "closed_lost", "lost_reason": "price"}),
        ]
        for opp_id, body in moves:
            response = await client.post(f"/v1/opportunities/{opp_id}/stage", json=body, headers=write)
            assert response.status_code == 200, response.text
        again = await client.post(
            f"/v1/opportunities/{won_id}/stage", json={"stage": "proposal"}, headers=write
        )
        assert again.status_code == 409
        unknown = await client.post(
            f"/v1/opportunities/{lost_id}/stage", json={"stage": "hoping"}, headers=write
        )
        assert unknown.status_code in (409, 422)
        detail = (await client.get(f"/v1/opportunities/{won_id}", headers=read)).json()
        assert [h["to_stage"] for h in detail["history"]] == ["prospecting", "negotiation", "closed_won"]

        after = (await client.get("/v1/pipeline", headers=read)).json()
        count_before, amount_before = totals_at(before, "prospecting")
        count_after, amount_after = totals_at(after, "prospecting")
        # Joseph's deal has no budget: 120 employees fall in the 51-200 band of 25000.
        assert (count_after - count_before, amount_after - amount_before) == (1, Decimal("25000"))
        forecast = (await client.get("/v1/forecast", params={"period": "quarter"}, headers=read)).json()
        closed = [c for c in forecast["cells"] if c["category"] == "closed"]
        assert sum(Decimal(str(c["amount"])) for c in closed) >= Decimal("45000")
        kpis = (await client.get("/v1/kpis", params={"by": "campaign"}, headers=read)).json()
        ours = next(k for k in kpis["groups"] if k["key"] == campaign)
        assert (ours["leads_converted"], ours["opportunities_opened"], ours["won"], ours["lost"]) == (
            3,
            3,
            1,
            1,
        )
        assert Decimal(str(ours["win_rate"])) == Decimal("0.5")
        assert Decimal(str(ours["average_won_amount"])) == Decimal("45000")

    async def our_events() -> list[dict[str, Any]] | None:
        records = await read_topic(test_stack, OPPORTUNITY_EVENTS)
        ours = {str(i) for i in lead_ids}
        mine = [e for e in map(_json_or_none, records) if e and e.get("data", {}).get("lead_id") in ours]
        return mine if sum(e["type"] == "opportunity.lost" for e in mine) else None

    events = await wait_until(our_events)
    types = [e["type"] for e in events]
    assert types.count("lead.converted") == 4
    assert types.count("opportunity.opened") == 3
    assert types.count("opportunity.won") == 1
    lost = next(e for e in events if e["type"] == "opportunity.lost")
    assert lost["data"]["lost_reason"] == "price"
    assert lost["data"]["contact_id"] == str(by_first["Charles"]["id"])


async def test_invalid_opportunity_criteria_answer_422_naming_the_problem(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    admin = auth(test_stack.tokens["admin"])
    async with httpx.AsyncClient(base_url=running_services["opportunity"].url) as client:
        bad = await client.put("/v1/opportunity-criteria", json={"fit_above": 140}, headers=admin)
        unknown = await client.put("/v1/opportunity-criteria", json={"vibes": "good"}, headers=admin)
        reader = await client.put(
            "/v1/opportunity-criteria", json={}, headers=auth(test_stack.tokens["write"])
        )
        stages = await client.put("/v1/stages", json={"stages": []}, headers=admin)
    assert bad.status_code == 422
    assert "fit_above" in bad.json()["detail"]
    assert unknown.status_code == 422
    assert "vibes" in unknown.json()["detail"]
    assert reader.status_code == 403
    assert stages.status_code == 422
    assert "closed won" in stages.json()["detail"]


def _json_or_none(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any] | None:
    """The event in a record, or None for what other tests put on the topic to poison it."""
    try:
        value = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
