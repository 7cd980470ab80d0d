"""Erasure requests: intake erases its part at once, tells the others, and tracks their confirmations."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from leadflow_devstack.testing import personal_traces
from leadflow_intake.entrypoints.consumers import on_person_erased
from leadflow_shared.contracts.envelope import new_event
from leadflow_shared.contracts.events import NurturePersonErased, QualificationPersonErased
from leadflow_shared.privacy import email_hash

from .conftest import SECRETS, Intake
from .test_flows import lead_id, submit
from .test_webhooks import JSON, Delivery, hexmac, leads_with_email, linkedin, new_tag, post

pytestmark = pytest.mark.service


async def person(intake: Intake, tag: str) -> dict[str, Any]:
    """Margarethe, seen at the website with her email and at a trade show with her phone: one merged person;
    an activity sent for her address before she was known waits in quarantine."""
    email = f"m.schulz.{tag}@gmail.com"
    phone = f"+49 30 {int(tag, 16) % 10**7:07d}"
    company = f"Brightwater Ceramics {tag}"
    unknown = await intake.client.post(
        "/v1/activities",
        json={"email": email, "activity_type": "page_visited", "occurred_at": "2025-03-04T10:15:00Z"},
        headers=intake.auth("write"),
    )
    assert unknown.status_code == 202, unknown.text
    sightings = (
        {"email": email, "company": company, "source_system": "website", "source_id": f"w-{tag}"},
        {
            "phone": phone,
            "company": company + " GmbH",
            "source_system": "trade_show",
            "source_id": f"t-{tag}",
        },
        {"email": f"margarethe.{tag}@outlook.com", "company": company, "source_system": "webinar"},
    )
    for seen in sightings:
        await submit(intake, first_name="Margarethe", last_name=f"Schulz{tag}", **seen)
        await intake.drain()
    survivor = await lead_id(intake, email)
    listed = (
        await intake.client.get("/v1/duplicates", params={"limit": 500}, headers=intake.auth("read"))
    ).json()
    pair = next(p for p in listed["items"] if survivor in (str(p["lead_id"]), str(p["candidate_id"])))
    merged = await intake.client.post(f"/v1/duplicates/{pair['id']}/merge", headers=intake.auth("write"))
    assert merged.status_code == 200, merged.text
    await intake.drain()
    async with intake.pool.acquire() as conn:
        leads = await conn.fetch(
            "SELECT id FROM leads WHERE id = $1 OR merged_into = $1 ORDER BY id", uuid.UUID(survivor)
        )
    assert len(leads) == 2, "the webinar twin was merged into the website lead"
    corrected = await intake.client.patch(
        f"/v1/leads/{survivor}",
        json={
            "actor": "support desk",
            "reason": f"phone call with Ms Schulz{tag}",
            "job_title": f"Head of Glaze, Schulz{tag} workshop",
        },
        headers=intake.auth("write"),
    )
    assert corrected.status_code == 200, corrected.text
    await intake.drain()
    return {
        "email": email,
        "last_name": f"Schulz{tag}",
        "phone_digits": phone[-7:],
        "leads": [r["id"] for r in leads],
    }


async def traces(intake: Intake, who: dict[str, Any]) -> list[str]:
    """Where in intake's schema the person's email, surname or phone still appears."""
    async with intake.pool.acquire() as conn:
        return await personal_traces(conn, "intake", [who["email"], who["last_name"], who["phone_digits"]])


async def sources_kpis(intake: Intake) -> Any:
    response = await intake.client.get("/v1/kpis/sources", headers=intake.auth("read"))
    assert response.status_code == 200, response.text
    return {k: v for k, v in response.json().items() if k not in ("since", "until")}


async def test_an_erasure_by_email_pseudonymises_every_lead_of_the_person_and_keeps_the_counts(
    intake: Intake,
) -> None:
    who = await person(intake, new_tag())
    async with intake.pool.acquire() as conn:
        # A dead letter's copy of a message that was never valid UTF-8, naming the person.
        await conn.execute(
            "INSERT INTO outbox (topic, payload, published_at) VALUES ('leads.submitted.dlq', $1, now())",
            b"\x00\xff not json " + who["email"].encode(),
        )
        # A finished trade-show upload with her row, in cp1252 as spreadsheets save it; a row error names her.
        upload = uuid.uuid4()
        csv = f"email,last_name,city\n{who['email']},{who['last_name']},Malmö\n".encode("cp1252")
        await conn.execute(
            "INSERT INTO imports (id, filename, content, channel, status)"
            " VALUES ($1, 'fair.csv', $2, 'trade_show', 'completed')",
            upload,
            csv,
        )
        await conn.execute(
            "INSERT INTO import_errors (import_id, row_number, message) VALUES ($1, 2, $2)",
            upload,
            f"row 2: {who['last_name']} has no company",
        )
        # A vendor's opt-out for her address, kept from before she was known under it.
        await conn.execute(
            "INSERT INTO pending_consent (source_system, source_id, email_key, channel, opted_in, reason)"
            " VALUES ('mailchimp', $1, $2, 'email', false, 'unsubscribed')",
            f"mc-{who['last_name']}",
            who["email"].lower(),
        )
    assert await traces(intake, who), "the person is there before the erasure"
    before = await sources_kpis(intake)

    response = await intake.client.post(
        "/v1/erasure-requests", json={"email": who["email"].upper()}, headers=intake.auth("admin")
    )

    assert response.status_code == 202, response.text
    assert response.json()["repeated"] is False
    assert await traces(intake, who) == []
    assert await sources_kpis(intake) == before
    [requested] = [e for e in await intake.drain() if e.type == "person.erasure_requested"]
    assert sorted(requested.data["lead_ids"]) == sorted(str(i) for i in who["leads"])
    assert requested.data["email_hash"] == email_hash(who["email"])
    assert who["email"] not in str(requested.data)
    async with intake.pool.acquire() as conn:
        kept = await conn.fetchval("SELECT count(*) FROM leads WHERE id = ANY($1::uuid[])", who["leads"])
        content = await conn.fetchval("SELECT content FROM imports WHERE id = $1", upload)
    assert kept == 2, "the rows stay, so the lead counts stay"
    assert content == "email,last_name,city\n[erased],[erased],Malmö\n".encode("cp1252")


async def test_the_status_shows_each_service_as_it_confirms_and_a_repeat_answers_the_same_request(
    intake: Intake,
) -> None:
    who = await person(intake, new_tag())
    first = await intake.client.post(
        "/v1/erasure-requests", json={"lead_id": str(who["leads"][0])}, headers=intake.auth("admin")
    )
    request_id = first.json()["request_id"]

    status = (
        await intake.client.get(f"/v1/erasure-requests/{request_id}", headers=intake.auth("admin"))
    ).json()
    assert status["status"] == "pending"
    assert {s["service"]: s["status"] for s in status["services"]} == {
        "intake": "done",
        "qualification": "pending",
        "opportunity": "pending",
        "nurture": "pending",
    }
    for confirmation in (QualificationPersonErased, NurturePersonErased):
        data = confirmation(request_id=request_id, service=confirmation.event_type.split(".")[0])
        for _ in range(2):
            async with intake.uow() as uow:
                await on_person_erased(uow, new_event(data, source="test"), data)
    status = (
        await intake.client.get(f"/v1/erasure-requests/{request_id}", headers=intake.auth("admin"))
    ).json()
    assert [s["service"] for s in status["services"] if s["status"] == "done"] == [
        "intake",
        "qualification",
        "nurture",
    ]

    again = await intake.client.post(
        "/v1/erasure-requests", json={"email": who["email"]}, headers=intake.auth("admin")
    )
    assert (again.status_code, again.json()) == (202, {"request_id": request_id, "repeated": True})


async def test_an_erasure_request_needs_the_admin_scope_and_one_way_to_name_the_person(
    intake: Intake,
) -> None:
    write = await intake.client.post(
        "/v1/erasure-requests", json={"email": "a@b.example"}, headers=intake.auth("write")
    )
    both = await intake.client.post(
        "/v1/erasure-requests",
        json={"email": "a@b.example", "lead_id": str(uuid.uuid4())},
        headers=intake.auth("admin"),
    )
    unknown = await intake.client.post(
        "/v1/erasure-requests", json={"lead_id": str(uuid.uuid4())}, headers=intake.auth("admin")
    )
    missing = await intake.client.get(f"/v1/erasure-requests/{uuid.uuid4()}", headers=intake.auth("admin"))
    assert [r.status_code for r in (write, both, unknown, missing)] == [403, 422, 404, 404]


async def test_a_linkedin_deleted_notification_erases_the_person_instead_of_going_to_quarantine(
    intake: Intake,
) -> None:
    tag = new_tag()
    created = linkedin(tag, intake.vendor)
    assert await post(intake, "linkedin", created) == 200
    await intake.drain()
    [captured] = await leads_with_email(intake, created.email)
    body = created.body.replace(b'"CREATED"', b'"DELETED"')
    signature = hexmac(SECRETS["linkedin_client_secret"], b"hmacsha256=" + body)
    deleted = Delivery(body, {**JSON, "X-LI-Signature": signature}, email=created.email)
    linkedin_rejections = "SELECT count(*) FROM rejections WHERE source_system = 'linkedin'"
    async with intake.pool.acquire() as conn:
        quarantined = await conn.fetchval(linkedin_rejections)

    assert await post(intake, "linkedin", deleted) == 200
    events = await intake.drain()

    [requested] = [e for e in events if e.type == "person.erasure_requested"]
    assert requested.data["lead_ids"] == [str(captured["id"])]
    assert await leads_with_email(intake, created.email) == []
    async with intake.pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM rejections WHERE source_system = 'linkedin'")
            == quarantined
        )
        assert await personal_traces(conn, "intake", [created.email]) == []
        origin = await conn.fetchval(
            "SELECT origin FROM erasure_requests WHERE id = $1", uuid.UUID(requested.data["request_id"])
        )
    assert origin == "linkedin"


async def test_the_export_holds_every_lead_of_the_person_with_touches_and_keys_and_needs_the_admin_scope(
    intake: Intake,
) -> None:
    who = await person(intake, new_tag())

    by_email = await intake.client.get(
        "/v1/people/export", params={"email": who["email"]}, headers=intake.auth("admin")
    )

    assert by_email.status_code == 200, by_email.text
    body = by_email.json()
    assert body["service"] == "intake"
    assert sorted(body["lead_ids"]) == sorted(str(i) for i in who["leads"])
    assert {lead["email"] for lead in body["records"]["leads"]} >= {who["email"]}
    assert {t["source_system"] for t in body["records"]["touches"]} == {"website", "trade_show", "webinar"}
    assert ("email", who["email"]) in {(k["kind"], k["value"]) for k in body["records"]["identity_keys"]}
    by_lead = await intake.client.get(
        "/v1/people/export", params={"lead_id": str(who["leads"][1])}, headers=intake.auth("admin")
    )
    assert sorted(by_lead.json()["lead_ids"]) == sorted(body["lead_ids"]), "merges count from either side"
    write = await intake.client.get(
        "/v1/people/export", params={"email": who["email"]}, headers=intake.auth("write")
    )
    neither = await intake.client.get("/v1/people/export", headers=intake.auth("admin"))
    assert (write.status_code, neither.status_code) == (403, 422)
