"""Input whose event Kafka would never take: refused at once over HTTP, kept in quarantine from a vendor."""

from __future__ import annotations

import json
import uuid

import pytest

from leadflow_intake.use_cases.imports import claim_next, process_import
from leadflow_shared.outbox import DEFAULT_MAX_MESSAGE_BYTES

from .conftest import SECRETS, Intake

pytestmark = pytest.mark.service


def lead(email: str, notes: str = "") -> dict[str, object]:
    return {
        "first_name": "Dana",
        "last_name": "Kovacs",
        "email": email,
        "company": "Acme Robotics GmbH",
        "custom_fields": {"notes": notes} if notes else {},
    }


async def test_a_lead_too_large_for_kafka_is_refused_with_413_naming_the_limit_and_the_next_is_captured(
    intake: Intake,
) -> None:
    tag = uuid.uuid4().hex[:8]
    # Within the HTTP body limit, but the event around it is not within Kafka's.
    huge = lead(f"dana.{tag}@acme-robotics.example")
    huge["custom_fields"] = {"notes": "n" * (intake.settings.max_body_bytes - len(json.dumps(huge)) - 100)}
    assert len(json.dumps(huge)) <= intake.settings.max_body_bytes
    fine = lead(f"olu.{tag}@acme-robotics.example")

    refused = await intake.client.post("/v1/leads", json=huge, headers=intake.auth("write"))
    accepted = await intake.client.post("/v1/leads", json=fine, headers=intake.auth("write"))
    events = await intake.drain()

    assert refused.status_code == 413
    assert f"{DEFAULT_MAX_MESSAGE_BYTES}-byte" in refused.json()["detail"]
    assert refused.json()["limit_bytes"] == DEFAULT_MAX_MESSAGE_BYTES
    assert accepted.status_code == 202
    captured = [e for e in events if e.type == "lead.captured"]
    assert [e.data["profile"]["email"] for e in captured] == [fine["email"]]


async def test_a_vendor_delivery_too_large_for_kafka_is_quarantined_with_the_reason(intake: Intake) -> None:
    tag = uuid.uuid4().hex[:8]
    payload = {
        "lead_id": f"TeSter-{tag}",
        "google_key": SECRETS["google_ads_key"],
        "user_column_data": [
            {
                "column_name": "User Email",
                "string_value": f"dana.{tag}@acme-robotics.example",
                "column_id": "EMAIL",
            }
        ],
        "notes": "",
    }
    # Within the webhook body limit, but the event around it is not within Kafka's.
    payload["notes"] = "n" * (intake.settings.max_body_bytes - len(json.dumps(payload)) - 10)
    body = json.dumps(payload).encode()
    assert len(body) <= intake.settings.max_body_bytes

    response = await intake.client.post(
        "/v1/webhooks/google-ads", content=body, headers={"Content-Type": "application/json"}
    )
    await intake.drain()

    assert response.status_code == 200
    assert response.json()["status"] == "quarantined"
    rejections = await intake.client.get("/v1/rejections", params={"limit": 500}, headers=intake.auth("read"))
    [kept] = [r for r in rejections.json()["items"] if r["id"] == response.json()["rejection_id"]]
    assert kept["source_system"] == "google_ads"
    assert f"over the {DEFAULT_MAX_MESSAGE_BYTES}-byte Kafka message limit" in kept["reason"]


async def test_an_imported_row_too_large_for_kafka_is_a_row_error_and_the_other_rows_are_submitted(
    intake: Intake,
) -> None:
    tag = uuid.uuid4().hex[:8]
    # The CSV reader takes fields up to 128 KiB: the row is large by having many of them.
    notes = [f"Notes {n}" for n in range(12)]
    lines = [";".join(["First name", "Last name", "Email", "Company", *notes])]
    for n, size in enumerate([10, 100_000, 10]):
        fields = [f"Kim{n}", "Becker", f"kim{n}.{tag}@messebau.example", "Messebau AG"]
        lines.append(";".join([*fields, *("n" * size for _ in notes)]))
    upload = await intake.client.post(
        "/v1/imports",
        files={"file": ("messe.csv", "\n".join(lines).encode(), "text/csv")},
        headers=intake.auth("write"),
    )
    assert upload.status_code == 202, upload.text
    import_id = upload.json()["id"]
    assert str(await claim_next(intake.uow)) == import_id

    await process_import(intake.uow, uuid.UUID(import_id), 500)
    status = (await intake.client.get(f"/v1/imports/{import_id}", headers=intake.auth("read"))).json()

    assert status["status"] == "completed"
    assert status["leads_submitted"] == 2
    assert status["rows_failed"] == 1
    [error] = status["errors"]
    assert error["row_number"] == 3
    assert f"over the {DEFAULT_MAX_MESSAGE_BYTES}-byte Kafka message limit" in error["message"]
