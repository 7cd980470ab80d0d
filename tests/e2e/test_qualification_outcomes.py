"""Leads submitted through intake reach each qualification outcome with the right status, reasons, events."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import pytest

from leadflow_devstack.builders import form
from leadflow_devstack.testing import ServiceProcess, TestStack, read_topic, wait_until
from leadflow_shared.contracts.topics import QUALIFICATION_EVENTS

pytestmark = pytest.mark.e2e

READY = {
    "need": "Dispatchers retype every order from email into our ERP",
    "authority": "I am the decision maker",
    "budget": "EUR 80,000",
    "timeline": "within 3 months",
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# The Okonkwos of Harbour Logistics: VPs of a mid-sized German logistics firm, ready to buy.
HARBOUR: dict[str, Any] = {
    "last_name": "Okonkwo",
    "company": "Harbour Logistics GmbH",
    "job_title": "VP of Operations",
    "country": "DE",
    "industry": "Logistics",
    "company_size": 350,
    "answers": READY,
}


def okonkwo(name: str, **changes: Any) -> dict[str, Any]:
    """An Okonkwo's web form, at an address and with a form id of their own."""
    tag = uuid.uuid4().hex[:8]
    someone = {
        "first_name": name,
        "email": f"{name.lower()}.{tag}@harbour-logistics.example",
        "source_id": f"form-{tag}",
    }
    return form(HARBOUR, someone, changes)


async def submit(stack: TestStack, services: dict[str, ServiceProcess], body: dict[str, Any]) -> str:
    token = stack.tokens["write"]
    async with httpx.AsyncClient(base_url=services["intake"].url) as client:
        response = await client.post("/v1/leads", json=body, headers=auth(token))
        assert response.status_code == 202, response.text

        async def lead_id() -> str | None:
            found = await client.get("/v1/leads", params={"email": body["email"]}, headers=auth(token))
            items = found.json()["items"]
            return str(items[0]["id"]) if items else None

        return await wait_until(lead_id)


async def judged(
    stack: TestStack, services: dict[str, ServiceProcess], lead_id: str, *statuses: str
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=services["qualification"].url) as client:

        async def check() -> dict[str, Any] | None:
            response = await client.get(f"/v1/leads/{lead_id}", headers=auth(stack.tokens["read"]))
            if response.status_code == 200 and response.json()["status"] in statuses:
                return dict(response.json())
            return None

        try:
            return await wait_until(check, within=60)
        except AssertionError:
            last = await client.get(f"/v1/leads/{lead_id}", headers=auth(stack.tokens["read"]))
            raise AssertionError(f"lead {lead_id} never reached {statuses}: {last.text}") from None


async def events_of(stack: TestStack, lead_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in lead_ids}
    for record in await read_topic(stack, QUALIFICATION_EVENTS, within=4.0):
        try:
            event = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            continue  # other tests put poison messages on the topic
        if not isinstance(event, dict):
            continue
        if event.get("subject") in found:
            found[event["subject"]].append(event)
    return found


OUTCOMES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("qualified", {}, "qualified", None),
    ("no_need", {"answers": {**READY, "need": "just browsing, no need"}}, "nurturing", "no_need"),
    ("no_authority", {"answers": {**READY, "authority": "I'm an end user"}}, "nurturing", "no_authority"),
    ("no_budget", {"answers": {**READY, "budget": "no budget"}}, "nurturing", "no_budget"),
    ("not_icp", {"country": "BR"}, "archived", "not_icp"),
    ("invalid", {"email": f"spam.{uuid.uuid4().hex[:6]}@mailinator.com"}, "archived", "invalid"),
]


async def test_leads_built_for_each_outcome_end_in_the_right_status_with_reasons_and_events(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    names = ["Adaeze", "Bola", "Chidi", "Dayo", "Emeka", "Folake"]
    ids: dict[str, str] = {}
    for name, (outcome, changes, _, _) in zip(names, OUTCOMES, strict=True):
        ids[outcome] = await submit(test_stack, running_services, okonkwo(name, **changes))

    for outcome, _, status, reason in OUTCOMES:
        # opportunity converts a qualified lead as soon as it sees it
        also = ("converted",) if status == "qualified" else ()
        lead = await judged(test_stack, running_services, ids[outcome], status, *also)
        assert lead["decision"]["criteria_version"] >= 1
        assert lead["decision"]["reason"] == reason
        assert lead["decision"]["reasons"], "a decision explains itself"
        assert lead["history"][0]["to_status"] == "open"
        assert status in [h["to_status"] for h in lead["history"]]
        assert lead["disqualification_reason"] == reason

    sent = await wait_until(lambda: _all_outcomes_published(test_stack, set(ids.values())), within=30)
    qualified = [e for e in sent[ids["qualified"]] if e["type"] == "lead.qualified"]
    assert qualified[0]["data"]["need"]
    assert qualified[0]["data"]["authority"]
    assert qualified[0]["data"]["budget_confirmed"] is True
    assert qualified[0]["data"]["source_system"] == "website"
    for outcome, _, _, reason in OUTCOMES[1:]:
        disqualified = [e for e in sent[ids[outcome]] if e["type"] == "lead.disqualified"]
        assert disqualified[0]["data"]["reason"] == reason
        assert disqualified[0]["data"]["nurturable"] is (reason not in ("not_icp", "invalid"))
        assert any(e["type"] == "lead.status_changed" for e in sent[ids[outcome]])


async def _all_outcomes_published(stack: TestStack, ids: set[str]) -> dict[str, list[dict[str, Any]]] | None:
    sent = await events_of(stack, ids)
    done = all(
        any(e["type"] in ("lead.qualified", "lead.disqualified") for e in evs) for evs in sent.values()
    )
    return sent if done else None


async def test_a_contacted_lead_that_goes_quiet_is_flagged_stale_then_handed_to_nurture_as_unresponsive(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    admin, write = auth(test_stack.tokens["admin"]), auth(test_stack.tokens["write"])
    lead_id = await submit(test_stack, running_services, okonkwo("Ngozi", answers={}))
    await judged(test_stack, running_services, lead_id, "open")
    async with httpx.AsyncClient(base_url=running_services["qualification"].url) as client:
        contacted = await client.post(
            f"/v1/leads/{lead_id}/contacted", json={"actor": "kemi.sales"}, headers=write
        )
        assert contacted.status_code == 200, contacted.text
        again = await client.post(
            f"/v1/leads/{lead_id}/contacted", json={"actor": "kemi.sales"}, headers=write
        )
        assert again.status_code == 409
        assert again.json()["detail"]["current"] == "contacted"
        assert "qualified" in again.json()["detail"]["allowed"]
        original = (await client.get("/v1/staleness", headers=admin)).json()
        limits = {
            "limits": {"contacted": {"stale_after_hours": 2 / 3600, "unresponsive_after_hours": 6 / 3600}}
        }
        assert (await client.put("/v1/staleness", json=limits, headers=admin)).status_code == 200
        try:

            async def flagged() -> bool:
                page = await client.get(
                    "/v1/leads", params={"stale": "true", "status": "contacted"}, headers=admin
                )
                return any(str(item["id"]) == lead_id for item in page.json()["items"])

            await wait_until(flagged, within=30)
            lead = await judged(test_stack, running_services, lead_id, "nurturing")
        finally:
            await client.put("/v1/staleness", json={"limits": original["limits"]}, headers=admin)
    assert lead["disqualification_reason"] == "unresponsive"
    assert lead["history"][-1]["actor"].startswith("rule:staleness.contacted")
    sent = await wait_until(lambda: _all_outcomes_published(test_stack, {lead_id}), within=30)
    assert [e["data"]["reason"] for e in sent[lead_id] if e["type"] == "lead.disqualified"] == [
        "unresponsive"
    ]


async def test_criteria_are_versioned_data_and_invalid_ones_are_refused_naming_the_problem(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    admin = auth(test_stack.tokens["admin"])
    async with httpx.AsyncClient(base_url=running_services["qualification"].url) as client:
        current = (await client.get("/v1/criteria", headers=admin)).json()
        broken = {
            **current,
            "fit": {**current["fit"], "industry": {**current["fit"]["industry"], "weight": 140}},
        }
        refused = await client.put("/v1/criteria", json=broken, headers=admin)
        assert refused.status_code == 422
        assert "fit.industry.weight" in refused.text
        writer = await client.put("/v1/criteria", json=current, headers=auth(test_stack.tokens["write"]))
        assert writer.status_code == 403
        france = {"weight": 20, "required": True, "countries": ["FR"]}
        simulated = await client.post(
            "/v1/criteria/simulate",
            json={
                "criteria": {
                    **current,
                    "fit": {
                        **current["fit"],
                        "country": france,
                    },
                },
                "scope": "open_only",
            },
            headers=admin,
        )
        assert simulated.status_code == 200, simulated.text
        stored = await client.put("/v1/criteria", json=current, headers=admin)
        assert stored.status_code == 200
        assert stored.json()["criteria"]["version"] == current["version"] + 1
        custom = await client.post(
            "/v1/statuses", json={"name": "meeting_booked", "category": "contacted"}, headers=admin
        )
        assert custom.status_code in (201, 422)
        bad = await client.post(
            "/v1/statuses", json={"name": "limbo", "category": "purgatory"}, headers=admin
        )
        assert bad.status_code == 422
        assert "purgatory" in bad.text
        funnel = await client.get("/v1/kpis/funnel", params={"by": "source"}, headers=admin)
        assert funnel.status_code == 200
        assert "website" in funnel.json()["groups"]
