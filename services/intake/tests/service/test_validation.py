"""Validation before the 202, internationalised emails, and quarantine of what only fails later."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import TYPE_HEADER

from .conftest import SECRETS, Intake, submissions_consumer
from .test_webhooks import FORM, as_form, leads_with_email, new_tag

pytestmark = pytest.mark.service


async def refused(intake: Intake, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/leads, expecting a 422; its body."""
    response = await intake.client.post("/v1/leads", json=body, headers=intake.auth("write"))
    assert response.status_code == 422, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_an_invalid_email_that_is_the_only_contact_gets_a_422_naming_the_email(intake: Intake) -> None:
    answer = await refused(intake, {"first_name": "Dana", "email": "dana(at)acme.example"})

    assert [e["field"] for e in answer["errors"]] == ["email"]
    assert "not a valid email address" in answer["detail"]


async def test_an_invalid_email_beside_a_valid_phone_is_accepted(intake: Intake) -> None:
    response = await intake.client.post(
        "/v1/leads",
        json={"email": "dana(at)acme.example", "phone": "+4915112345678"},
        headers=intake.auth("write"),
    )

    assert response.status_code == 202, response.text


async def test_a_submission_without_email_or_phone_gets_a_422(intake: Intake) -> None:
    answer = await refused(intake, {"first_name": "Dana", "company": "Acme Robotics"})

    assert "email address or a phone number" in answer["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "dana@acme.example", "first_name": "Da\x00na"}, "first_name"),
        ({"email": "dana@acme.example", "company": "Acme\ud800"}, "company"),
        ({"email": "dana@acme.example", "campaign": {"utm_source": "lin\x00kedin"}}, "campaign.utm_source"),
        ({"email": "dana@acme.example", "custom_fields": {"badge": "x\x00"}}, "custom_fields.badge"),
        ({"email": "dana@acme.example", "custom_fields": {"badge_id": 10**30}}, "custom_fields.badge_id"),
    ],
)
async def test_text_postgresql_cannot_store_gets_a_422_naming_the_field(
    intake: Intake, body: dict[str, Any], field: str
) -> None:
    # The standard encoder writes a lone surrogate as its escape, as a sender's JSON would carry it.
    response = await intake.client.post(
        "/v1/leads",
        content=json.dumps(body).encode(),
        headers={**intake.auth("write"), "Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "dana@acme.example", "compnay": "Acme Robotics"}, "compnay"),
        ({"email": "dana@acme.example", "campaign": {"utm_sorce": "linkedin"}}, "campaign.utm_sorce"),
        ({"email": "dana@acme.example", "consent": {"emial": True}}, "consent.emial"),
    ],
)
async def test_an_unknown_field_gets_a_422_naming_it_instead_of_being_dropped(
    intake: Intake, body: dict[str, Any], field: str
) -> None:
    answer = await refused(intake, body)

    assert [e["field"] for e in answer["errors"]] == [field]
    assert field in answer["detail"]


async def test_a_non_ascii_local_part_gets_a_422_saying_why(intake: Intake) -> None:
    answer = await refused(intake, {"first_name": "Jürgen", "email": "jürgen@acme.example"})

    assert [e["field"] for e in answer["errors"]] == ["email"]
    assert "SMTPUTF8" in answer["detail"]


async def test_an_internationalised_domain_is_stored_in_ascii_and_found_by_either_spelling(
    intake: Intake,
) -> None:
    tag = new_tag()
    response = await intake.client.post(
        "/v1/leads",
        json={"first_name": "Jürgen", "email": f"juergen.{tag}@Bücher-Müller.example", "source_id": tag},
        headers=intake.auth("write"),
    )
    assert response.status_code == 202, response.text
    await intake.drain()

    by_unicode = await leads_with_email(intake, f"juergen.{tag}@bücher-müller.example")
    by_ascii = await leads_with_email(intake, f"juergen.{tag}@xn--bcher-mller-thbg.example")

    assert [lead["id"] for lead in by_unicode] == [lead["id"] for lead in by_ascii]
    assert len(by_ascii) == 1
    lead = (await intake.client.get(f"/v1/leads/{by_ascii[0]['id']}", headers=intake.auth("read"))).json()
    assert lead["profile"]["email"] == f"juergen.{tag}@xn--bcher-mller-thbg.example"
    assert lead["profile"]["company_domain"] == "xn--bcher-mller-thbg.example"


def activecampaign_contact(tag: str, **fields: str) -> bytes:
    return as_form(
        {
            "type": "subscribe",
            "date_time": "2025-03-04T05:15:00-05:00",
            "contact[id]": f"77{int(tag, 16)}",
            "contact[first_name]": "Olu",
            **fields,
        }
    )


async def activecampaign_post(intake: Intake, body: bytes) -> None:
    response = await intake.client.post(
        "/v1/webhooks/activecampaign",
        content=body,
        headers=FORM,
        params={"secret": SECRETS["activecampaign_secret"]},
    )
    assert response.status_code in (200, 202), response.text


async def test_an_activecampaign_national_phone_without_a_country_is_read_in_the_default_region(
    intake: Intake,
) -> None:
    tag = new_tag()
    email = f"olu.{tag}@chicago-freight.example"
    await activecampaign_post(
        intake, activecampaign_contact(tag, **{"contact[email]": email, "contact[phone]": "(312) 555-0147"})
    )
    await intake.drain()

    [found] = await leads_with_email(intake, email)
    lead = (await intake.client.get(f"/v1/leads/{found['id']}", headers=intake.auth("read"))).json()
    assert lead["profile"]["phone"] == "+13125550147"


async def rejection_reasons(intake: Intake, source: str, since: datetime) -> list[str]:
    async with intake.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT reason FROM rejections WHERE source_system = $1 AND received_at >= $2", source, since
        )
    return [row["reason"] for row in rows]


async def test_a_vendor_payload_with_a_nul_is_quarantined_with_its_reason(intake: Intake) -> None:
    tag = new_tag()
    since = datetime.now(UTC)
    email = f"olu.{tag}@lagos-fintech.example"
    await activecampaign_post(
        intake,
        activecampaign_contact(tag, **{"contact[email]": email, "contact[orgname]": "Lagos\x00Fintech"}),
    )
    await intake.drain()

    reasons = await rejection_reasons(intake, "activecampaign", since)
    assert any("NUL character" in reason for reason in reasons), reasons
    assert await leads_with_email(intake, email) == []
    async with intake.pool.acquire() as conn:
        kept = await conn.fetchval(
            "SELECT payload->>'contact[orgname]' FROM rejections WHERE source_system = 'activecampaign'"
            " AND payload->>'contact[email]' = $1",
            email,
        )
    assert kept == "Lagos\ufffdFintech"


async def test_a_vendor_payload_with_a_non_ascii_local_part_is_quarantined_saying_why(intake: Intake) -> None:
    tag = new_tag()
    since = datetime.now(UTC)
    await activecampaign_post(
        intake, activecampaign_contact(tag, **{"contact[email]": f"jürgen.{tag}@acme.example"})
    )
    await intake.drain()

    reasons = await rejection_reasons(intake, "activecampaign", since)
    assert any("SMTPUTF8" in reason for reason in reasons), reasons


def message(
    offset: int, value: bytes, headers: list[tuple[str, bytes]], topic: str
) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, 0, offset, 0, 0, None, value, None, len(value), 0, headers)


def submitted(submission: str) -> bytes:
    """A lead.submitted envelope whose submission is given as raw JSON text (so it can hold anything)."""
    return (
        f'{{"specversion": "1.0", "id": "{uuid4()}", "source": "upstream", "type": "lead.submitted",'
        f' "correlationid": "c-1", "data": {{"submission": {submission}}}}}'
    ).encode()


async def test_submissions_the_consumer_dead_letters_are_also_kept_in_quarantine(intake: Intake) -> None:
    tag = new_tag()
    topic = intake.settings.topic_prefix + topics.LEADS_SUBMITTED
    deep = '{"a": ' * 300 + "1" + "}" * 300
    bodies: list[tuple[bytes, list[tuple[str, bytes]]]] = [
        (submitted(f'{{"email": "nul.{tag}@acme.example", "first_name": "Da\\u0000na"}}'), []),
        (submitted(f'{{"email": "big.{tag}@acme.example", "custom_fields": {{"n": {10**40}}}}}'), []),
        (submitted(f'{{"email": "deep.{tag}@acme.example", "custom_fields": {deep}}}'), []),
        (f'{{"type": "lead.teleported", "tag": "{tag}"}}'.encode(), [(TYPE_HEADER, b"lead.teleported")]),
        (f"not json {tag}".encode(), []),
    ]
    records = [message(offset, value, headers, topic) for offset, (value, headers) in enumerate(bodies)]
    async with submissions_consumer(intake) as consumer:
        await consumer._process(TopicPartition(topic, 0), records)
        # A replay of the same offsets keeps one row each.
        await consumer._process(TopicPartition(topic, 0), records)

    async with intake.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT reason, payload FROM rejections WHERE payload::text LIKE $1 ORDER BY reason", f"%{tag}%"
        )
        # Marked sent, so drain() in later tests does not read them.
        dead = await conn.fetchval(
            "WITH sent AS (UPDATE outbox SET published_at = now() WHERE topic = $1 AND published_at IS NULL"
            " AND position(convert_to($2, 'UTF8') in payload) > 0 RETURNING 1) SELECT count(*) FROM sent",
            topic + ".dlq",
            tag,
        )
    reasons = [row["reason"] for row in rows]
    assert len(reasons) == 5, reasons
    assert any("NUL character" in r and "first_name" in r for r in reasons)
    assert any("64-bit" in r for r in reasons)
    assert any("unknown event type 'lead.teleported'" in r for r in reasons)
    assert any("(malformed)" in r and "not a valid CloudEvent" in r for r in reasons)
    assert sum("dead-lettered from" in r for r in reasons) == 5
    # The dead-letter topic is at least once: each run sent its copy.
    assert dead == 10
