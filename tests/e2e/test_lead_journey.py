"""One lead's whole journey, across the four services, under the correlation id of its first submission."""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord

from leadflow_devstack.testing import Db, ServiceProcess, TestStack, read_topic, wait_until
from leadflow_shared.contracts.topics import (
    INTAKE_EVENTS,
    LEADS_SUBMITTED,
    NURTURE_EVENTS,
    OPPORTUNITY_EVENTS,
    QUALIFICATION_EVENTS,
)

from .test_full_pipeline import Pipeline, auth, lead

pytestmark = pytest.mark.e2e

SERVICE_TOPICS = (INTAKE_EVENTS, QUALIFICATION_EVENTS, OPPORTUNITY_EVENTS, NURTURE_EVENTS)


@pytest.fixture
def pipeline(test_stack: TestStack, running_services: dict[str, ServiceProcess]) -> Pipeline:
    return Pipeline(test_stack, running_services)


def events_on(records: list[ConsumerRecord[bytes, bytes]]) -> list[dict[str, Any]]:
    """The CloudEvents among the messages; other tests of the run put malformed ones on the same topics."""
    events = []
    for record in records:
        with contextlib.suppress(ValueError):
            event = json.loads(record.value)
            if isinstance(event, dict):
                events.append(event)
    return events


async def events_about(stack: TestStack, lead_id: str) -> list[dict[str, Any]]:
    """Every event on the four services' topics whose subject is the lead, oldest first."""
    found: list[dict[str, Any]] = []
    for topic in SERVICE_TOPICS:
        events = events_on(await read_topic(stack, topic, within=1.5))
        found += [e for e in events if e.get("subject") == lead_id]
    return sorted(found, key=lambda e: str(e["time"]))


async def post_as(
    pipeline: Pipeline, service: str, path: str, body: dict[str, Any], correlation: str
) -> None:
    """A request made by a person, under a correlation id of its own."""
    async with pipeline.client(service) as client:
        response = await client.post(
            path, json=body, headers={**auth(pipeline.stack.tokens["write"]), "X-Correlation-ID": correlation}
        )
    assert response.status_code < 300, response.text


async def lead_of(pipeline: Pipeline, email: str) -> str:
    async def found() -> str | None:
        async with pipeline.client("intake") as client:
            page = await client.get(
                "/v1/leads", params={"email": email}, headers=auth(pipeline.stack.tokens["read"])
            )
        items = page.json()["items"]
        return str(items[0]["id"]) if items else None

    return await wait_until(found)


async def test_every_event_of_a_nurtured_lead_that_became_a_lost_deal_carries_its_first_correlation_id(
    pipeline: Pipeline, test_stack: TestStack
) -> None:
    journey = f"journey-{uuid.uuid4()}"
    domain = f"narvik-haulage-{uuid.uuid4().hex[:6]}.example"
    body = lead("Solveig", "Strand", domain, company="Narvik Haulage AS")
    body["answers"] = {**body["answers"], "budget": "no budget"}
    await post_as(pipeline, "intake", "/v1/leads", body, journey)
    solveig = await lead_of(pipeline, body["email"])
    await pipeline.status_becomes(solveig, "nurturing")

    async def enrolled() -> bool:
        view = await pipeline.get("nurture", f"/v1/leads/{solveig}")
        return any(e["status"] == "active" for e in (view or {}).get("enrollments", []))

    await wait_until(enrolled, within=30)
    trigger = {
        "activity_id": f"crm-{uuid.uuid4().hex}",
        "email": body["email"],
        "activity_type": "trigger",
        "trigger": "budget_approved",
        "occurred_at": datetime.now(UTC).isoformat(),
        "source_system": "crm",
    }
    await post_as(pipeline, "intake", "/v1/activities", trigger, f"crm-sync-{uuid.uuid4()}")
    await pipeline.status_becomes(solveig, "converted")
    opportunity = Db(test_stack, "opportunity")
    deal = await wait_until(
        lambda: opportunity.fetchval("SELECT id FROM opportunities WHERE lead_id = $1", uuid.UUID(solveig)),
        within=30,
    )
    lost = {"stage": "closed_lost", "lost_reason": "price"}
    await post_as(
        pipeline, "opportunity", f"/v1/opportunities/{deal}/stage", lost, f"sales-desk-{uuid.uuid4()}"
    )

    async def won_back() -> list[dict[str, Any]] | None:
        events = await events_about(test_stack, solveig)
        enrolments = [e for e in events if e["type"] == "nurture.enrolled"]
        return events if len(enrolments) == 2 else None

    events = await wait_until(won_back, within=60)
    submitted = [
        e
        for e in events_on(await read_topic(test_stack, LEADS_SUBMITTED, within=1.0))
        if (e.get("data") or {}).get("submission", {}).get("email") == body["email"]
    ]
    types = {e["type"] for e in events}
    assert {
        "lead.captured",
        "lead.status_changed",
        "lead.disqualified",
        "nurture.enrolled",
        "lead.engaged",
        "lead.requalification_requested",
        "lead.qualified",
        "lead.converted",
        "opportunity.opened",
        "opportunity.lost",
    } <= types
    assert len(submitted) == 1
    assert {e["correlationid"] for e in [*submitted, *events]} == {journey}, [
        (e["type"], e["correlationid"]) for e in events if e["correlationid"] != journey
    ]
    assert len({e["traceparent"].split("-")[1] for e in [*submitted, *events]}) == 1, "one journey, one trace"

    for service, kinds in {
        "intake": {"lead.captured", "lead.engaged"},
        "qualification": {"lead.disqualified", "lead.qualified", "lead.status_changed"},
        "opportunity": {"lead.converted", "opportunity.opened", "opportunity.lost"},
        "nurture": {"nurture.enrolled", "lead.requalification_requested"},
    }.items():
        timeline = await pipeline.get(service, f"/v1/leads/{solveig}/timeline")
        assert timeline is not None, service
        assert timeline["correlation_id"] == journey
        assert kinds <= {item["kind"] for item in timeline["items"]}, (service, timeline["items"])
        assert {item["correlation_id"] for item in timeline["items"]} == {journey}
        moments = [item["at"] for item in timeline["items"]]
        assert moments == sorted(moments)
