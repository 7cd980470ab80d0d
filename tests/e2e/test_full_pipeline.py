"""The whole pipeline on real Kafka and Postgres: intake, qualification, opportunity, nurture, and back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from leadflow_devstack.builders import form
from leadflow_devstack.testing import Db, ServiceProcess, TestStack, wait_until

pytestmark = pytest.mark.e2e

READY = {
    "need": "Our dispatchers retype every order from email into the ERP",
    "authority": "I am the decision maker",
    "budget": "EUR 80,000",
    "timeline": "within 3 months",
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Fjord Freight's VP of Operations, who came from LinkedIn's Q4 freight campaign, ready to buy.
FJORD_FREIGHT: dict[str, Any] = {
    "company": "Fjord Freight AS",
    "job_title": "VP of Operations",
    "country": "Germany",
    "industry": "Logistics",
    "company_size": 350,
    "answers": READY,
    "campaign": {"utm_source": "linkedin", "utm_campaign": "q4-freight"},
}


def lead(first: str, last: str, domain: str, **changes: Any) -> dict[str, Any]:
    """The web form of someone at the domain, with a form id of its own."""
    someone = {
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{last.lower()}@{domain}",
        "website": f"https://www.{domain}",
        "source_id": f"form-{uuid.uuid4().hex}",
    }
    return form(FJORD_FREIGHT, someone, changes)


class Pipeline:
    """The four running services, seen through their APIs."""

    def __init__(self, stack: TestStack, services: dict[str, ServiceProcess]) -> None:
        self.stack = stack
        self.services = services

    def client(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.services[service].url, timeout=10)

    async def submit(self, body: dict[str, Any]) -> str:
        async with self.client("intake") as client:
            response = await client.post("/v1/leads", json=body, headers=auth(self.stack.tokens["write"]))
            assert response.status_code == 202, response.text

            async def lead_id() -> str | None:
                found = await client.get(
                    "/v1/leads", params={"email": body["email"]}, headers=auth(self.stack.tokens["read"])
                )
                items = found.json()["items"]
                return str(items[0]["id"]) if items else None

            return await wait_until(lead_id)

    async def get(self, service: str, path: str) -> dict[str, Any] | None:
        async with self.client(service) as client:
            response = await client.get(path, headers=auth(self.stack.tokens["read"]))
        return dict(response.json()) if response.status_code == 200 else None

    async def post(self, service: str, path: str, body: dict[str, Any]) -> httpx.Response:
        async with self.client(service) as client:
            return await client.post(path, json=body, headers=auth(self.stack.tokens["write"]))

    async def status_becomes(self, lead_id: str, *statuses: str) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            lead = await self.get("qualification", f"/v1/leads/{lead_id}")
            return lead if lead and lead["status"] in statuses else None

        try:
            return await wait_until(check, within=60)
        except AssertionError:
            last = await self.get("qualification", f"/v1/leads/{lead_id}")
            raise AssertionError(f"{lead_id} never reached {statuses}: {last}") from None


async def approve_budget(pipeline: Pipeline, email: str) -> None:
    """The CRM reports a budget_approved trigger for the person with this email."""
    trigger = await pipeline.post(
        "intake",
        "/v1/activities",
        {
            "activity_id": f"crm-{uuid.uuid4().hex}",
            "email": email,
            "activity_type": "trigger",
            "trigger": "budget_approved",
            "occurred_at": datetime.now(UTC).isoformat(),
            "source_system": "crm",
        },
    )
    assert trigger.status_code == 202, trigger.text


@pytest.fixture
def pipeline(test_stack: TestStack, running_services: dict[str, ServiceProcess]) -> Pipeline:
    return Pipeline(test_stack, running_services)


async def test_two_qualified_leads_from_one_company_become_one_account_with_two_contacts_and_deals(
    pipeline: Pipeline, test_stack: TestStack
) -> None:
    domain = f"fjord-freight-{uuid.uuid4().hex[:6]}.example"
    ingrid = await pipeline.submit(lead("Ingrid", "Solberg", domain))
    lars = await pipeline.submit(lead("Lars", "Haugen", domain, job_title="Chief Operating Officer"))

    for lead_id in (ingrid, lars):
        converted = await pipeline.status_becomes(lead_id, "converted")
        assert [h["to_status"] for h in converted["history"]][-2:] == ["qualified", "converted"]

    opportunity = Db(test_stack, "opportunity")
    rows = await opportunity.fetch(
        "SELECT lead_id, account_id, contact_id FROM converted_leads WHERE lead_id = ANY($1::uuid[])",
        [uuid.UUID(ingrid), uuid.UUID(lars)],
    )
    assert len(rows) == 2
    assert len({row["account_id"] for row in rows}) == 1, "one company, one account"
    assert len({row["contact_id"] for row in rows}) == 2, "two people, two contacts"

    account = await wait_until(
        lambda: pipeline.get("opportunity", f"/v1/accounts/{rows[0]['account_id']}"), within=30
    )
    assert len(account["contacts"]) == 2

    async def two_deals() -> list[dict[str, Any]] | None:
        view = await pipeline.get("opportunity", f"/v1/accounts/{rows[0]['account_id']}")
        return view["opportunities"] if view and len(view["opportunities"]) == 2 else None

    deals = await wait_until(two_deals, within=30)
    assert all(deal["stage"] == "prospecting" for deal in deals)

    won = await pipeline.post(
        "opportunity", f"/v1/opportunities/{deals[0]['id']}/stage", {"stage": "closed_won"}
    )
    assert won.status_code == 200, won.text
    lost = await pipeline.post(
        "opportunity",
        f"/v1/opportunities/{deals[1]['id']}/stage",
        {"stage": "closed_lost", "lost_reason": "price"},
    )
    assert lost.status_code == 200, lost.text
    again = await pipeline.post(
        "opportunity", f"/v1/opportunities/{deals[0]['id']}/stage", {"stage": "proposal"}
    )
    assert again.status_code == 409

    lost_lead = str(deals[1]["lead_id"])

    async def in_win_back() -> dict[str, Any] | None:
        view = await pipeline.get("nurture", f"/v1/leads/{lost_lead}")
        enrollments = view.get("enrollments", []) if view else []
        return view if any(e["track"] == "win-back" for e in enrollments) else None

    await wait_until(in_win_back, within=30)


async def test_a_lead_missing_an_opportunity_condition_gets_a_deal_only_when_a_signal_completes_it(
    pipeline: Pipeline, test_stack: TestStack
) -> None:
    domain = f"polar-cargo-{uuid.uuid4().hex[:6]}.example"
    astrid = await pipeline.submit(
        lead("Astrid", "Berg", domain, company="Polar Cargo AS", answers={**READY, "timeline": "next year"})
    )
    await pipeline.status_becomes(astrid, "converted")
    opportunity = Db(test_stack, "opportunity")
    contact_id = await wait_until(
        lambda: opportunity.fetchval(
            "SELECT contact_id FROM converted_leads WHERE lead_id = $1", uuid.UUID(astrid)
        )
    )
    contact = await pipeline.get("opportunity", f"/v1/contacts/{contact_id}")
    assert contact is not None
    assert contact["opportunities"] == []

    signal = await pipeline.post("opportunity", f"/v1/contacts/{contact_id}/signals", {"timeline_days": 30})
    assert signal.status_code == 200, signal.text
    assert signal.json()["opportunity_id"] is not None
    contact = await pipeline.get("opportunity", f"/v1/contacts/{contact_id}")
    assert contact is not None
    assert len(contact["opportunities"]) == 1


async def test_a_nurtured_lead_whose_budget_is_approved_comes_back_through_qualification_to_a_deal(
    pipeline: Pipeline, test_stack: TestStack
) -> None:
    domain = f"tromso-trucking-{uuid.uuid4().hex[:6]}.example"
    body = lead(
        "Sigrid", "Dahl", domain, company="Tromso Trucking AS", answers={**READY, "budget": "no budget"}
    )
    sigrid = await pipeline.submit(body)
    nurtured = await pipeline.status_becomes(sigrid, "nurturing")
    assert nurtured["decision"]["reason"] == "no_budget"

    async def enrolled() -> dict[str, Any] | None:
        view = await pipeline.get("nurture", f"/v1/leads/{sigrid}")
        active = [e for e in (view or {}).get("enrollments", []) if e["status"] == "active"]
        return active[0] if active else None

    enrollment = await wait_until(enrolled, within=30)
    assert enrollment["track"] == "budget-drip"

    await approve_budget(pipeline, body["email"])

    back = await pipeline.status_becomes(sigrid, "qualified", "converted")
    statuses = [h["to_status"] for h in back["history"]]
    assert statuses.index("nurturing") < statuses.index("qualified")
    ended = await pipeline.get("nurture", f"/v1/leads/{sigrid}")
    assert ended is not None
    assert all(e["status"] != "active" for e in ended["enrollments"])


async def test_a_lead_outside_the_ideal_customer_profile_is_archived_and_gets_no_nurture(
    pipeline: Pipeline, test_stack: TestStack
) -> None:
    domain = f"far-away-{uuid.uuid4().hex[:6]}.example"
    outsider = await pipeline.submit(lead("Joao", "Silva", domain, company="Longe Ltda", country="Brazil"))
    archived = await pipeline.status_becomes(outsider, "archived")
    assert archived["decision"]["reason"] == "not_icp"

    async def archived_in_nurture() -> dict[str, Any] | None:
        view = await pipeline.get("nurture", f"/v1/leads/{outsider}")
        return view if view and view.get("archive") else None

    view = await wait_until(archived_in_nurture, within=30)
    assert view["archive"]["reason"] == "not_icp"
    assert not [e for e in view["enrollments"] if e["status"] == "active"]
