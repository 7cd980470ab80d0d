"""A person's data over time, across the services as processes: corrections and new facts are re-judged."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from leadflow_devstack.testing import ServiceProcess, TestStack, wait_until

from .test_qualification_outcomes import READY, auth, judged, okonkwo, submit

Check = Callable[[dict[str, Any]], bool]

pytestmark = pytest.mark.e2e


async def test_an_archived_lead_corrected_with_a_new_country_and_budget_is_judged_again_and_qualifies(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    body = okonkwo("Ngozi", country="BR", answers={**READY, "budget": "no budget"})
    lead_id = await submit(test_stack, running_services, body)
    await judged(test_stack, running_services, lead_id, "archived")

    async with httpx.AsyncClient(base_url=running_services["intake"].url) as client:
        answer = await client.patch(
            f"/v1/leads/{lead_id}",
            json={
                "actor": "amara@sales",
                "reason": "moved to Vienna, budget approved",
                "country": "Austria",
                "answers": {"budget": "EUR 80,000"},
            },
            headers=auth(test_stack.tokens["write"]),
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] == ["country", "answers.budget"]

    lead = await judged(test_stack, running_services, lead_id, "qualified", "converted")
    assert lead["decision"]["reason"] is None
    await nurture_view(
        test_stack,
        running_services,
        lead_id,
        lambda view: (view["archive"] or {}).get("reversed_at") is not None,
    )
    moves = [(h["from_status"], h["to_status"]) for h in lead["history"]]
    assert ("archived", "qualified") in moves or ("archived", "open") in moves, moves


async def test_a_nurturing_lead_submitted_again_with_a_budget_comes_back_qualified(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    first = okonkwo("Obinna", answers={**READY, "budget": "no budget"})
    lead_id = await submit(test_stack, running_services, first)
    await judged(test_stack, running_services, lead_id, "nurturing")

    again = {
        **first,
        "source_id": first["source_id"] + "-again",
        "answers": {**READY, "budget": "EUR 80,000"},
    }
    await submit(test_stack, running_services, again)

    lead = await judged(test_stack, running_services, lead_id, "qualified", "converted")
    assert "nurturing" in [h["from_status"] for h in lead["history"]]


async def nurture_view(
    stack: TestStack, services: dict[str, ServiceProcess], lead_id: str, check: Check
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=services["nurture"].url) as client:

        async def seen() -> dict[str, Any] | None:
            found = await client.get(f"/v1/leads/{lead_id}", headers=auth(stack.tokens["read"]))
            return found.json() if found.status_code == 200 and check(found.json()) else None

        return await wait_until(seen, within=60)


async def test_an_archive_reversed_by_hand_reopens_the_lead_and_a_criteria_change_does_not_archive_it_again(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    lead_id = await submit(test_stack, running_services, okonkwo("Chiamaka", country="BR"))
    await judged(test_stack, running_services, lead_id, "archived")
    await nurture_view(test_stack, running_services, lead_id, lambda view: view["archive"] is not None)

    async with httpx.AsyncClient(base_url=running_services["nurture"].url) as client:
        reversed_ = await client.post(
            f"/v1/leads/{lead_id}/archive/reverse",
            json={"actor": "ifeoma@sales", "reason": "opening a Lagos office with us"},
            headers=auth(test_stack.tokens["write"]),
        )
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["reversed_at"] is not None

    lead = await judged(test_stack, running_services, lead_id, "open")
    assert lead["manual_override"] is True
    assert lead["history"][-1]["actor"] == "ifeoma@sales"
    view = await nurture_view(test_stack, running_services, lead_id, lambda view: view["status"] == "open")
    assert view["archive"]["reversed_at"] is not None

    async with httpx.AsyncClient(base_url=running_services["qualification"].url) as client:
        criteria = (await client.get("/v1/criteria", headers=auth(test_stack.tokens["read"]))).json()
        stored = await client.put(
            "/v1/criteria",
            params={"apply_to": "non_terminal"},
            json=criteria,
            headers=auth(test_stack.tokens["admin"]),
        )
        assert stored.status_code == 200, stored.text
        assert stored.json()["applied"]["evaluated"] >= 1
        after = (await client.get(f"/v1/leads/{lead_id}", headers=auth(test_stack.tokens["read"]))).json()
    assert after["status"] == "open", "a criteria change does not re-archive a lead reopened by hand"
    assert after["decision"]["reason"] == "not_icp", "it was judged again all the same"


async def test_a_merge_undone_in_intake_gives_both_leads_back_to_qualification(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    tag = uuid.uuid4().hex[:8]
    company = f"Kestrel Optics {tag}"
    first = okonkwo("Margarethe", email=f"m.schulz.{tag}@gmail.com", company=company, answers={})
    first.update(last_name="Schulz")
    second = okonkwo("Margareta", email=f"schulze.{tag}@yahoo.example", company=company, answers={})
    second.update(last_name="Schulz")
    survivor = await submit(test_stack, running_services, first)
    await judged(test_stack, running_services, survivor, "open")
    other = await submit(test_stack, running_services, second)
    await judged(test_stack, running_services, other, "open")
    write = auth(test_stack.tokens["write"])

    async with httpx.AsyncClient(base_url=running_services["intake"].url) as client:
        pairs = (await client.get("/v1/duplicates", params={"limit": 500}, headers=write)).json()["items"]
        pair = next(p for p in pairs if {str(p["lead_id"]), str(p["candidate_id"])} == {survivor, other})
        merged = await client.post(
            f"/v1/duplicates/{pair['id']}/merge", json={"survivor": survivor}, headers=write
        )
        assert merged.status_code == 200, merged.text
        await qualification_lead(
            test_stack, running_services, other, lambda lead: lead["merged_into"] == survivor
        )
        undone = await client.post(
            f"/v1/leads/{other}/unmerge", json={"actor": "lea@ops", "reason": "two people"}, headers=write
        )
        assert undone.status_code == 200, undone.text
        assert (await client.get(f"/v1/leads/{other}", headers=write)).json()["merged_into"] is None

    restored = await qualification_lead(
        test_stack, running_services, other, lambda lead: lead["merged_into"] is None
    )
    moves = [(h["from_status"], h["to_status"], h["actor"]) for h in restored["history"]]
    assert moves[-2:] == [("open", "archived", "rule:merge"), ("archived", "open", moves[-1][2])], moves
    assert moves[-1][2].startswith("rule:criteria"), "reopened by its own judgement after the unmerge"


async def qualification_lead(
    stack: TestStack, services: dict[str, ServiceProcess], lead_id: str, check: Check
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=services["qualification"].url) as client:

        async def seen() -> dict[str, Any] | None:
            found = await client.get(f"/v1/leads/{lead_id}", headers=auth(stack.tokens["read"]))
            return found.json() if found.status_code == 200 and check(found.json()) else None

        return await wait_until(seen, within=60)
