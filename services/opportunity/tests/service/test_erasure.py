"""Erasure and export in opportunity: the contact and what names the person go; amounts and stages stay."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka import ConsumerRecord

from leadflow_devstack.testing import TestStack, api_client, personal_traces
from leadflow_opportunity.adapters.config_store import ConfigStore
from leadflow_opportunity.entrypoints import export
from leadflow_opportunity.entrypoints.consumers import subscriptions
from leadflow_opportunity.settings import OpportunitySettings
from leadflow_opportunity.use_cases import conversion
from leadflow_opportunity.use_cases.erasure import person_erasure_requested
from leadflow_shared.consumer import EventConsumer
from leadflow_shared.contracts.envelope import new_event
from leadflow_shared.contracts.events import LeadQualified, PersonErasureRequested
from leadflow_shared.uow import UnitOfWorkFactory

from .test_conversion import NOW, launched, pool, uow

pytestmark = pytest.mark.service
__all__ = ["pool", "uow"]


def someone(surname: str, company: str) -> tuple[str, str, LeadQualified]:
    """A qualified person of a company of their own, unique to the test: (tag, email, lead.qualified)."""
    tag = uuid.uuid4().hex[:6]
    domain = f"{company.lower().replace(' ', '-')}-{tag}.example"
    email = f"{surname}{tag}@{domain}"
    return tag, email, launched(email, f"{company} {tag}", domain)


async def kpi_figures(pool: asyncpg.Pool, account_id: uuid.UUID) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM contacts WHERE account_id = $1) AS contacts,"
        " (SELECT sum(amount) FROM opportunities WHERE account_id = $1) AS amount,"
        " (SELECT array_agg(stage) FROM opportunities WHERE account_id = $1) AS stages,"
        " (SELECT count(*) FROM converted_leads WHERE account_id = $1) AS converted",
        account_id,
    )
    return dict(row)


async def test_an_erased_contact_keeps_its_account_and_opportunity_and_loses_its_person(
    pool: asyncpg.Pool, uow: UnitOfWorkFactory
) -> None:
    tag, email, lead = someone("lovelace", "Analytical Engines")
    async with uow() as u:
        outcome = await conversion.convert_qualified(u, await ConfigStore().load(u.conn), None, lead, NOW)
    assert outcome.opportunity_id is not None
    needles = [email, f"lovelace{tag}"]
    async with pool.acquire() as conn:
        assert await personal_traces(conn, "opportunity", needles), "the person is there before"
    before = await kpi_figures(pool, outcome.account_id)
    request = PersonErasureRequested(request_id=uuid.uuid4(), lead_ids=[lead.lead_id])

    for _ in range(2):
        async with uow() as u:
            await person_erasure_requested(u, request, new_event(request, source="intake"))

    async with pool.acquire() as conn:
        assert await personal_traces(conn, "opportunity", needles) == []
    assert await kpi_figures(pool, outcome.account_id) == before
    confirmations = await pool.fetch(
        "SELECT payload FROM outbox WHERE key = $1", str(request.request_id).encode()
    )
    assert {orjson.loads(r["payload"])["type"] for r in confirmations} == {"opportunity.person_erased"}


async def test_a_qualification_arriving_after_the_erasure_converts_the_lead_without_its_person(
    pool: asyncpg.Pool, uow: UnitOfWorkFactory, service_stack: TestStack
) -> None:
    tag, email, late = someone("hopper", "Compiler Works")
    request = PersonErasureRequested(request_id=uuid.uuid4(), lead_ids=[late.lead_id])
    async with uow() as u:
        await person_erasure_requested(u, request, new_event(request, source="intake"))
    [subscription] = [s for s in subscriptions(ConfigStore()) if s.name == "qualification"]
    consumer = EventConsumer(
        subscription,
        service="opportunity",
        pool=pool,
        bootstrap_servers="127.0.0.1:9",
        topic_prefix=service_stack.topic_prefix,
    )
    key = str(late.lead_id).encode()
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        "qualification.events", 0, 0, 0, 0, key, b"", None, 0, 0, []
    )
    handler = subscription.handlers[late.event_type]

    await consumer._apply(
        [(record, new_event(late, source="qualification"), late, handler)], [], isolate=False
    )

    contact = await pool.fetchrow("SELECT * FROM contacts WHERE lead_id = $1", late.lead_id)
    assert contact is not None, "the conversion still counts"
    assert (contact["email"], contact["first_name"], contact["last_name"]) == (None, None, None)
    async with pool.acquire() as conn:
        assert await personal_traces(conn, "opportunity", [email, f"hopper{tag}"]) == []


async def test_the_export_of_a_converted_person_holds_their_contact_account_and_opportunity(
    pool: asyncpg.Pool, uow: UnitOfWorkFactory, service_stack: TestStack
) -> None:
    _, email, lead = someone("Babbage", "Difference Engines")
    async with uow() as u:
        outcome = await conversion.convert_qualified(u, await ConfigStore().load(u.conn), None, lead, NOW)

    async with api_client(service_stack, OpportunitySettings, [export.router], pool, "admin") as client:
        by_email = await client.get("/v1/people/export", params={"email": email.lower()})
        by_lead = await client.get("/v1/people/export", params={"lead_id": str(lead.lead_id)})

    assert by_email.status_code == 200, by_email.text
    records = by_email.json()["records"]
    assert by_email.json()["lead_ids"] == [str(lead.lead_id)]
    assert [c["id"] for c in records["contacts"]] == [str(outcome.contact_id)]
    assert [a["id"] for a in records["accounts"]] == [str(outcome.account_id)]
    assert [o["id"] for o in records["opportunities"]] == [str(outcome.opportunity_id)]
    assert by_lead.json()["records"]["contacts"] == records["contacts"]
