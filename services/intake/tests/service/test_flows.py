"""Handshakes and bad requests, fuzzy duplicates and merges, activities, consent and CSV imports."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from datetime import UTC, datetime

import pytest

from .conftest import SECRETS, Intake
from .test_webhooks import FORM, JSON, as_form, mailchimp, new_tag, post, zoom_signed

pytestmark = pytest.mark.service


async def test_handshakes_are_answered_directly(intake: Intake) -> None:
    meta = await intake.client.get(
        "/v1/webhooks/meta",
        params={
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": SECRETS["meta_verify_token"],
        },
    )
    assert (meta.status_code, meta.text) == (200, "1158201444")
    wrong = await intake.client.get(
        "/v1/webhooks/meta",
        params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "guess"},
    )
    assert wrong.status_code == 403
    code = "f3b7c1a2-0000-4e1f-9d3a-5b6c7d8e9f00"
    linkedin = await intake.client.get("/v1/webhooks/linkedin", params={"challengeCode": code})
    expected = hmac.new(SECRETS["linkedin_client_secret"].encode(), code.encode(), hashlib.sha256).hexdigest()
    assert linkedin.json() == {"challengeCode": code, "challengeResponse": expected}
    assert (await intake.client.get("/v1/webhooks/mailchimp")).status_code == 200
    delivery = zoom_signed(
        {"event": "endpoint.url_validation", "event_ts": 1, "payload": {"plainToken": "qgg8vlvZ"}}
    )
    answer = await intake.client.post("/v1/webhooks/zoom", content=delivery.body, headers=delivery.headers)
    token = hmac.new(SECRETS["zoom_secret_token"].encode(), b"qgg8vlvZ", hashlib.sha256).hexdigest()
    assert answer.json() == {"plainToken": "qgg8vlvZ", "encryptedToken": token}


async def test_bad_requests_get_a_4xx_naming_the_problem(intake: Intake) -> None:
    unknown = await intake.client.post("/v1/webhooks/myspace", content=b"{}", headers=JSON)
    assert unknown.status_code == 404
    assert "myspace" in unknown.json()["detail"]
    huge = await intake.client.post(
        "/v1/webhooks/google-ads", content=b"{" + b" " * 2_000_000 + b"}", headers=JSON
    )
    assert huge.status_code == 413
    wrong_type = await intake.client.post("/v1/webhooks/google-ads", content=b"a=b", headers=FORM)
    assert wrong_type.status_code == 415
    assert "application/json" in wrong_type.json()["detail"]
    no_secret = await intake.client.post(
        "/v1/webhooks/mailchimp", content=as_form({"type": "subscribe"}), headers=FORM
    )
    assert no_secret.status_code == 401
    bad_activity = await intake.client.post(
        "/v1/activities",
        json={"email": "x@y.example", "activity_type": "telepathy", "occurred_at": "2025-03-04T10:15:00Z"},
        headers=intake.auth("write"),
    )
    assert bad_activity.status_code == 422
    assert "activity_type" in bad_activity.json()["detail"]


async def submit(intake: Intake, **fields: object) -> None:
    response = await intake.client.post("/v1/leads", json=fields, headers=intake.auth("write"))
    assert response.status_code == 202, response.text


async def lead_id(intake: Intake, email: str) -> str:
    items = (
        await intake.client.get("/v1/leads", params={"email": email}, headers=intake.auth("read"))
    ).json()["items"]
    assert len(items) == 1
    return str(items[0]["id"])


async def test_a_near_identical_person_merges_and_another_address_or_a_near_miss_goes_to_review(
    intake: Intake,
) -> None:
    tag = new_tag()
    company = f"Brightwater Ceramics {tag}"
    await submit(
        intake,
        first_name="Margarethe",
        last_name="Schulz",
        email=f"m.schulz.{tag}@gmail.com",
        company=company,
        source_system="website",
        source_id=f"w-{tag}",
    )
    await intake.drain()
    await submit(
        intake,
        first_name="Margarethe",
        last_name="Schulz",
        phone=f"+49 30 {int(tag, 16) % 10**7:07d}",
        company=company + " GmbH",
        source_system="trade_show",
        source_id=f"t-{tag}",
    )
    await submit(
        intake,
        first_name="Margarethe",
        last_name="Schulz",
        email=f"margarethe.{tag}@outlook.com",
        company=company,
        source_system="webinar",
        source_id=f"o-{tag}",
    )
    await submit(
        intake,
        first_name="Margareta",
        last_name="Schulz",
        email=f"schulze.{tag}@yahoo.example",
        company=company,
        source_system="webinar",
        source_id=f"z-{tag}",
    )
    await intake.drain()
    survivor = await lead_id(intake, f"m.schulz.{tag}@gmail.com")
    lead = (await intake.client.get(f"/v1/leads/{survivor}", headers=intake.auth("read"))).json()
    assert sorted(t["source_system"] for t in lead["touches"]) == ["trade_show", "website"]
    other = await lead_id(intake, f"schulze.{tag}@yahoo.example")
    assert other != survivor
    twin = await lead_id(intake, f"margarethe.{tag}@outlook.com")
    assert twin != survivor, "the same name with another email address is not merged automatically"

    listed = (
        await intake.client.get("/v1/duplicates", params={"limit": 500}, headers=intake.auth("read"))
    ).json()
    pair = next(
        p for p in listed["items"] if {str(p["lead_id"]), str(p["candidate_id"])} == {survivor, other}
    )
    merged = await intake.client.post(f"/v1/duplicates/{pair['id']}/merge", headers=intake.auth("write"))
    assert merged.status_code == 200
    assert str(merged.json()["survivor"]) == survivor
    again = await intake.client.post(f"/v1/duplicates/{pair['id']}/merge", headers=intake.auth("write"))
    assert again.status_code == 200
    events = await intake.drain()
    assert [(e.type, e.data["lead_id"], e.data["merged_id"]) for e in events if e.type == "lead.merged"] == [
        ("lead.merged", survivor, other)
    ]
    lead = (await intake.client.get(f"/v1/leads/{survivor}", headers=intake.auth("read"))).json()
    assert len(lead["touches"]) == 3
    assert await lead_id(intake, f"schulze.{tag}@yahoo.example") == survivor
    dismissed = await intake.client.post(f"/v1/duplicates/{pair['id']}/dismiss", headers=intake.auth("write"))
    assert dismissed.status_code == 409


async def test_activities_resolve_to_a_lead_or_are_quarantined(intake: Intake) -> None:
    tag = new_tag()
    email = f"tomasz.wojcik.{tag}@gdansk-shipyards.example"
    await submit(
        intake, full_name="Tomasz Wójcik", email=email, company="Gdansk Shipyards", source_id=f"a-{tag}"
    )
    await intake.drain()
    body = {
        "activity_id": f"open-{tag}",
        "email": email.upper(),
        "activity_type": "page_view",
        "occurred_at": "2025-03-04T10:15:00Z",
        "details": {"url": "https://leadflow.example/pricing"},
    }
    for _ in range(2):
        assert (
            await intake.client.post("/v1/activities", json=body, headers=intake.auth("write"))
        ).status_code == 202
    await intake.client.post(
        "/v1/activities",
        json={
            "email": f"nobody.{tag}@nowhere.example",
            "activity_type": "trigger",
            "trigger": "funding",
            "occurred_at": "2025-03-04T10:15:00Z",
        },
        headers=intake.auth("write"),
    )
    events = await intake.drain()
    engaged = [e for e in events if e.type == "lead.engaged"]
    assert [(e.data["lead_id"], e.data["activity_type"]) for e in engaged] == [
        (await lead_id(intake, email), "pricing_page_visited")
    ]
    async with intake.pool.acquire() as conn:
        reason = await conn.fetchval(
            "SELECT reason FROM rejections WHERE payload->>'email' = $1", f"nobody.{tag}@nowhere.example"
        )
    assert "unknown lead" in reason


async def test_a_mailchimp_unsubscribe_changes_consent_and_is_not_a_lead(intake: Intake) -> None:
    tag = new_tag()
    subscribe = mailchimp(tag)
    assert await post(intake, "mailchimp", subscribe) == 200
    await intake.drain()
    fields = {
        "type": "unsubscribe",
        "fired_at": "2025-03-05 09:00:00",
        "data[id]": f"8a25ff{tag}",
        "data[list_id]": "a6b5da1054",
        "data[email]": subscribe.email,
        "data[action]": "unsub",
        "data[reason]": "manual",
    }
    assert (
        await post(intake, "mailchimp", type(subscribe)(as_form(fields), dict(FORM), subscribe.params)) == 200
    )
    events = await intake.drain(redeliver=True)
    changes = [e for e in events if e.type == "lead.consent_changed"]
    assert len(changes) == 1
    assert changes[0].data["opted_in"] is False
    lead = (
        await intake.client.get(
            f"/v1/leads/{await lead_id(intake, subscribe.email)}", headers=intake.auth("read")
        )
    ).json()
    assert lead["profile"]["consent"]["email"] is False
    assert len(lead["touches"]) == 1


async def test_a_ten_thousand_row_trade_show_csv_imports_with_progress_and_bad_rows_listed(
    intake: Intake,
) -> None:
    from leadflow_intake.use_cases.imports import claim_next, process_import

    tag = new_tag()
    lines = ["\ufeffVorname;Nachname;E-Mail;Firma;Land;Notizen"]
    for n in range(10_000):
        email = f"besucher{n}.{tag}@messe-{n % 97}.example" if n % 500 else "not-an-address"
        lines.append(
            f'Kim{n};Becker{n};{email};Messebau {n % 97} AG;Deutschland;"Stand B{n % 12}\nzweite Zeile"'
        )
    upload = await intake.client.post(
        "/v1/imports",
        files={"file": ("hannover-messe.csv", "\n".join(lines).encode(), "text/csv")},
        data={"campaign_name": "Hannover Messe 2026"},
        headers=intake.auth("write"),
    )
    assert upload.status_code == 202, upload.text
    import_id = upload.json()["id"]
    claimed = await claim_next(intake.uow)
    assert str(claimed) == import_id
    seen: list[float] = []

    async def watch() -> None:
        while True:
            status = (await intake.client.get(f"/v1/imports/{import_id}", headers=intake.auth("read"))).json()
            seen.append(status["progress"])
            if status["status"] == "completed":
                return
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    await process_import(intake.uow, uuid.UUID(import_id), 500)
    await watcher
    await intake.drain()
    status = (
        await intake.client.get(
            f"/v1/imports/{import_id}", headers=intake.auth("read"), params={"errors_limit": 1000}
        )
    ).json()
    assert status["status"] == "completed"
    assert status["rows_total"] == 10_000
    assert status["rows_failed"] == 20
    assert status["leads_submitted"] == 9_980
    assert status["leads_captured"] == 9_980
    assert all("email" in e["message"] for e in status["errors"])
    assert status["errors"][0]["row_number"] == 2
    assert seen[-1] == 1.0
    assert len(seen) >= 2
    started = datetime.now(UTC)
    assert started
