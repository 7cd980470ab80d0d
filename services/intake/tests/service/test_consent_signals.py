"""Source signals become lead.consent_changed: a later form's opt-out, a vendor unsubscribe, even one that
arrives before the person it is about."""

from __future__ import annotations

from typing import Any

import pytest

from leadflow_shared.contracts.envelope import Envelope

from .conftest import Intake
from .test_flows import lead_id
from .test_webhooks import FORM, as_form, mailchimp, new_tag, post

pytestmark = pytest.mark.service


async def submit(intake: Intake, **fields: Any) -> None:
    response = await intake.client.post("/v1/leads", json=fields, headers=intake.auth("write"))
    assert response.status_code == 202, response.text


def form(tag: str, n: int, email_consent: bool, at: str) -> dict[str, Any]:
    """Ana's newsletter form, filled in at `at`."""
    return {
        "first_name": "Ana",
        "last_name": "Ferreira",
        "email": f"ana.ferreira.{tag}@transportes-lusos.example",
        "company": "Transportes Lusos",
        "consent": {"email": email_consent},
        "source_system": "website",
        "source_id": f"form-{tag}-{n}",
        "submitted_at": at,
    }


def consent_events(events: list[Envelope]) -> list[tuple[str, bool, str]]:
    return [
        (e.data["channel"], e.data["opted_in"], e.data["reason"])
        for e in events
        if e.type == "lead.consent_changed"
    ]


async def test_a_later_form_that_unticks_email_emits_lead_consent_changed_after_lead_updated(
    intake: Intake,
) -> None:
    tag = new_tag()
    await submit(intake, **form(tag, 1, True, "2026-03-02T09:00:00Z"))
    first = await intake.drain()
    assert consent_events(first) == []

    await submit(intake, **form(tag, 2, False, "2026-03-09T09:00:00Z"))
    events = await intake.drain()

    assert [e.type for e in events] == ["lead.updated", "lead.consent_changed"]
    assert consent_events(events) == [("email", False, "opted out on a website submission")]
    assert events[1].subject == events[0].subject


async def test_a_later_form_that_says_the_same_emits_no_consent_change(intake: Intake) -> None:
    tag = new_tag()
    await submit(intake, **form(tag, 1, False, "2026-03-02T09:00:00Z"))
    await intake.drain()

    await submit(intake, **form(tag, 2, False, "2026-03-09T09:00:00Z"))

    assert consent_events(await intake.drain()) == []


def unsubscribe(email: str, tag: str) -> dict[str, str]:
    return {
        "type": "unsubscribe",
        "fired_at": "2025-03-05 09:00:00",
        "data[id]": f"8a25ff{tag}",
        "data[list_id]": "a6b5da1054",
        "data[email]": email,
        "data[action]": "unsub",
        "data[reason]": "manual",
    }


async def test_a_vendor_unsubscribe_before_the_person_is_known_is_kept_and_applied_at_capture(
    intake: Intake,
) -> None:
    tag = new_tag()
    subscribe = mailchimp(tag)
    early = type(subscribe)(as_form(unsubscribe(subscribe.email.upper(), tag)), dict(FORM), subscribe.params)

    assert await post(intake, "mailchimp", early) == 200
    assert consent_events(await intake.drain()) == []
    async with intake.pool.acquire() as conn:
        kept = await conn.fetchval(
            "SELECT count(*) FROM pending_consent WHERE email_key = $1", subscribe.email
        )
        quarantined = await conn.fetchval(
            "SELECT count(*) FROM rejections WHERE reason LIKE '%' || $1 || '%'", subscribe.email
        )
    assert (kept, quarantined) == (1, 0)

    assert await post(intake, "mailchimp", mailchimp(tag)) == 200
    events = await intake.drain()

    assert [e.type for e in events] == ["lead.captured", "lead.consent_changed"]
    assert consent_events(events)[0][:2] == ("email", False)
    lead = (
        await intake.client.get(
            f"/v1/leads/{await lead_id(intake, subscribe.email)}", headers=intake.auth("read")
        )
    ).json()
    assert lead["profile"]["consent"]["email"] is False
    async with intake.pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM pending_consent WHERE email_key = $1", subscribe.email)
            == 0
        )

    await post(intake, "mailchimp", mailchimp(tag))
    assert consent_events(await intake.drain()) == []


async def test_a_consent_change_naming_no_email_is_still_quarantined_with_its_reason(intake: Intake) -> None:
    tag = new_tag()
    subscribe = mailchimp(tag)
    fields = {k: v for k, v in unsubscribe("", tag).items() if k != "data[email]"}

    assert (
        await post(intake, "mailchimp", type(subscribe)(as_form(fields), dict(FORM), subscribe.params)) == 200
    )

    assert consent_events(await intake.drain()) == []
    async with intake.pool.acquire() as conn:
        reasons = await conn.fetch(
            "SELECT reason FROM rejections WHERE payload::text LIKE '%' || $1 || '%'", tag
        )
        kept = await conn.fetchval(
            "SELECT count(*) FROM pending_consent WHERE source_id LIKE '%' || $1 || '%'", tag
        )
    assert reasons
    assert kept == 0
