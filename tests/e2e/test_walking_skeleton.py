"""The four services, as processes on real Kafka and Postgres, see every lead submitted."""

from __future__ import annotations

import json
import uuid
from functools import partial

import httpx
import pytest

from leadflow_devstack.builders import submission
from leadflow_devstack.testing import Db, ServiceProcess, TestStack, produce, wait_until
from leadflow_shared.contracts.envelope import encode, new_event
from leadflow_shared.contracts.events import LeadSubmitted
from leadflow_shared.contracts.lead import LeadSubmission
from leadflow_shared.contracts.topics import LEADS_SUBMITTED

pytestmark = pytest.mark.e2e


def grace(n: int, via: str) -> LeadSubmission:
    """The n-th Grace Hopper of Navy Compilers to come in this way, each a different person."""
    someone = {"last_name": f"Hopper-{via}-{n}", "email": f"grace.{via}.{n}@navy-compilers.example"}
    navy = {"first_name": "Grace", "company": "Navy Compilers", "country": "United States"}
    return submission(navy, someone, source_id=f"{via}-{n}-{uuid.uuid4()}")


async def lead_id_by_email(intake: ServiceProcess, token: str, email: str) -> str | None:
    async with httpx.AsyncClient(base_url=intake.url) as client:
        response = await client.get("/v1/leads", params={"email": email}, headers=auth(token))
    items = response.json()["items"]
    return str(items[0]["id"]) if items else None


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_leads_submitted_over_http_and_kafka_reach_every_service(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    token = test_stack.tokens["write"]
    over_http = [grace(n, "http") for n in range(5)]
    over_kafka = [grace(n, "kafka") for n in range(5)]
    async with httpx.AsyncClient(base_url=running_services["intake"].url) as client:
        for lead in over_http:
            response = await client.post("/v1/leads", json=lead.model_dump(mode="json"), headers=auth(token))
            assert response.status_code == 202, response.text
    await produce(
        test_stack,
        LEADS_SUBMITTED,
        [
            (None, encode(new_event(LeadSubmitted(submission=lead), source="test-upstream")))
            for lead in over_kafka
        ],
    )

    for lead in over_http + over_kafka:
        assert lead.email is not None
        lead_id = await wait_until(partial(lead_id_by_email, running_services["intake"], token, lead.email))
        for name in ("qualification", "opportunity", "nurture"):
            service = running_services[name]

            async def recorded(service: ServiceProcess = service, lead_id: str = lead_id) -> bool:
                async with httpx.AsyncClient(base_url=service.url) as client:
                    response = await client.get(f"/v1/leads/{lead_id}", headers=auth(token))
                return response.status_code == 200 and response.json()["status"] == "open"

            await wait_until(recorded)

    history = await Db(test_stack, "qualification").fetchval("SELECT count(*) FROM status_history")
    assert history >= 10


async def test_an_endpoint_without_a_token_answers_401_and_a_read_token_on_a_write_endpoint_403(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    body = grace(0, "auth").model_dump(mode="json")
    async with httpx.AsyncClient(base_url=running_services["intake"].url) as client:
        anonymous = await client.post("/v1/leads", json=body)
        reader = await client.post("/v1/leads", json=body, headers=auth(test_stack.tokens["read"]))
        wrong = await client.get(f"/v1/leads/{uuid.uuid4()}", headers=auth("not-a-real-token-at-all"))
        health = await client.get("/health/live")
    assert anonymous.status_code == 401
    assert "bearer token" in anonymous.json()["detail"]
    assert reader.status_code == 403
    assert "write" in reader.json()["detail"]
    assert wrong.status_code == 401
    assert health.status_code == 200
    for name in ("qualification", "opportunity", "nurture"):
        async with httpx.AsyncClient(base_url=running_services[name].url) as client:
            response = await client.get(f"/v1/leads/{uuid.uuid4()}")
        assert response.status_code == 401


async def test_an_invalid_lead_gets_a_422_naming_the_field(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    async with httpx.AsyncClient(base_url=running_services["intake"].url) as client:
        response = await client.post(
            "/v1/leads",
            json={"email": "x@example.com", "company_size": -3, "channel": "carrier-pigeon"},
            headers=auth(test_stack.tokens["write"]),
        )
    assert response.status_code == 422
    assert "company_size" in response.json()["detail"]
    assert "channel" in response.json()["detail"]


async def test_an_api_process_takes_leads_over_http_and_the_worker_processes_them(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    api = ServiceProcess(test_stack, "intake", {"INTAKE_ROLE": "api"})
    api.log_file = test_stack.logs / f"{test_stack.name}-intake-api.log"
    api.start()
    try:
        token = test_stack.tokens["write"]
        lead = grace(0, "api-role")
        async with httpx.AsyncClient(base_url=api.url) as client:
            response = await client.post("/v1/leads", json=lead.model_dump(mode="json"), headers=auth(token))
            ready = await client.get("/health/ready")
        assert response.status_code == 202, response.text
        assert ready.status_code == 200
        assert lead.email is not None
        email = lead.email
        lead_id = await wait_until(lambda: lead_id_by_email(running_services["intake"], token, email))

        async def judged() -> str | None:
            async with httpx.AsyncClient(base_url=running_services["qualification"].url) as client:
                response = await client.get(f"/v1/leads/{lead_id}", headers=auth(token))
            return str(response.json()["status"]) if response.status_code == 200 else None

        assert await wait_until(judged)
    finally:
        api.stop()
    started = [line for line in api.log_file.read_text().splitlines() if "service started" in line]
    assert json.loads(started[-1])["role"] == "api"
    assert json.loads(started[-1])["consumers"] == []
