"""Corrections by hand: PATCH /v1/leads/{id} changes the profile, keeps who and why, emits lead.updated."""

from __future__ import annotations

import pytest

from leadflow_intake.bootstrap import dedup_policy
from leadflow_intake.use_cases.capture import capture, capture_many
from leadflow_shared.contracts.lead import LeadSubmission

from .conftest import Intake
from .test_flows import lead_id, submit
from .test_webhooks import new_tag

pytestmark = pytest.mark.service


async def captured(intake: Intake, tag: str, **fields: object) -> str:
    email = f"ines.ferreira.{tag}@porto-freight.example"
    await submit(
        intake,
        first_name="Ines",
        last_name="Ferreira",
        email=email,
        company="Porto Freight",
        country="Portugal",
        answers={"budget": "no budget yet"},
        source_system="website",
        source_id=f"pf-{tag}",
        **fields,
    )
    await intake.drain()
    return await lead_id(intake, email)


async def test_a_correction_changes_the_profile_keeps_who_and_why_and_emits_the_changed_fields(
    intake: Intake,
) -> None:
    tag = new_tag()
    lead = await captured(intake, tag)
    body = {"actor": "sofia@sales", "reason": "called her", "country": "ES", "answers": {"budget": "EUR 90k"}}
    answer = await intake.client.patch(f"/v1/leads/{lead}", json=body, headers=intake.auth("write"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] == ["country", "answers.budget"]
    events = await intake.drain()
    assert [(e.type, e.data["changed"], e.data["profile"]["country"]) for e in events] == [
        ("lead.updated", ["country", "answers.budget"], "ES")
    ]
    assert events[0].data["touch"]["source_system"] == "correction"
    detail = (await intake.client.get(f"/v1/leads/{lead}", headers=intake.auth("read"))).json()
    assert detail["profile"]["answers"]["budget"] == "EUR 90k"
    assert [t["source_system"] for t in detail["touches"]] == ["website"], "a correction is not a touch"
    [correction] = detail["corrections"]
    assert (correction["actor"], correction["reason"]) == ("sofia@sales", "called her")
    assert correction["changes"]["country"] == {"from": "PT", "to": "ES"}


async def test_a_correction_that_changes_nothing_emits_nothing(intake: Intake) -> None:
    lead = await captured(intake, new_tag())
    body = {"actor": "sofia@sales", "reason": "double-check", "country": "Portugal"}
    answer = await intake.client.patch(f"/v1/leads/{lead}", json=body, headers=intake.auth("write"))
    assert (answer.status_code, answer.json()["changed"], answer.json()["correction_id"]) == (200, [], None)
    assert await intake.drain() == []


async def test_a_later_submission_of_an_older_moment_does_not_undo_a_correction(intake: Intake) -> None:
    tag = new_tag()
    lead = await captured(intake, tag)
    body = {"actor": "sofia@sales", "reason": "moved", "country": "Spain"}
    assert (
        await intake.client.patch(f"/v1/leads/{lead}", json=body, headers=intake.auth("write"))
    ).is_success
    await submit(
        intake,
        email=f"ines.ferreira.{tag}@porto-freight.example",
        country="Portugal",
        submitted_at="2026-01-01T00:00:00Z",
        source_system="website",
        source_id=f"pf-old-{tag}",
    )
    await intake.drain()
    detail = (await intake.client.get(f"/v1/leads/{lead}", headers=intake.auth("read"))).json()
    assert detail["profile"]["country"] == "ES"


async def test_corrections_are_refused_without_actor_with_unknown_fields_or_bad_values(
    intake: Intake,
) -> None:
    lead = await captured(intake, new_tag())
    url = f"/v1/leads/{lead}"
    for body, field in (
        ({"reason": "x", "country": "ES"}, "actor"),
        ({"actor": "a", "reason": "x", "compnay": "Typo Ltd"}, "compnay"),
        ({"actor": "a", "reason": "x", "answers": {"budgte": "1"}}, "answers.budgte"),
        ({"actor": "a", "reason": "x", "email": "no-at-sign"}, "email"),
        ({"actor": "a", "reason": "x", "first_name": "x" * 201}, "first_name"),
    ):
        answer = await intake.client.patch(url, json=body, headers=intake.auth("write"))
        assert answer.status_code == 422, body
        assert field in [e["field"] for e in answer.json()["errors"]], answer.json()
    read_only = await intake.client.patch(
        url, json={"actor": "a", "reason": "x", "country": "ES"}, headers=intake.auth("read")
    )
    assert read_only.status_code == 403
    assert await intake.drain() == []


async def test_an_unknown_lead_is_404_and_a_merged_one_409_naming_its_survivor(intake: Intake) -> None:
    body = {"actor": "a", "reason": "x", "country": "ES"}
    unknown = await intake.client.patch(
        "/v1/leads/6f1c2d3e-0000-4000-8000-000000000000", json=body, headers=intake.auth("write")
    )
    assert unknown.status_code == 404
    survivor, merged = await captured(intake, new_tag()), await captured(intake, new_tag())
    async with intake.pool.acquire() as conn:
        await conn.execute("UPDATE leads SET merged_into = $1 WHERE id = $2", survivor, merged)
    answer = await intake.client.patch(f"/v1/leads/{merged}", json=body, headers=intake.auth("write"))
    assert answer.status_code == 409
    assert answer.json()["detail"]["merged_into"] == survivor


@pytest.mark.parametrize("together", [False, True])
async def test_a_known_leads_national_phone_is_read_in_its_country_when_the_source_names_none(
    intake: Intake, together: bool
) -> None:
    tag = new_tag()
    lead = await captured(intake, tag)
    again = LeadSubmission(
        email=f"ines.ferreira.{tag}@porto-freight.example",
        phone="212 345 678",
        source_system="activecampaign",
        source_id=f"ac-{tag}",
    )
    policy = dedup_policy(intake.settings)
    async with intake.uow() as uow:
        if together:
            await capture_many(uow, [(again, None)], policy=policy)
        else:
            await capture(uow, again, policy=policy)
    detail = (await intake.client.get(f"/v1/leads/{lead}", headers=intake.auth("read"))).json()
    assert detail["profile"]["phone"] == "+351212345678"


async def test_a_corrected_email_finds_the_lead_and_one_another_lead_holds_is_refused(intake: Intake) -> None:
    tag = new_tag()
    lead, other = await captured(intake, tag), await captured(intake, new_tag())
    other_email = (await intake.client.get(f"/v1/leads/{other}", headers=intake.auth("read"))).json()[
        "profile"
    ]["email"]
    url, write = f"/v1/leads/{lead}", intake.auth("write")
    taken = await intake.client.patch(
        url, json={"actor": "a", "reason": "typo", "email": other_email}, headers=write
    )
    assert taken.status_code == 409
    assert other in taken.json()["detail"]
    new_email = f"ines.f.{tag}@porto-freight.example"
    moved = await intake.client.patch(
        url, json={"actor": "a", "reason": "typo", "email": new_email}, headers=write
    )
    assert moved.json()["changed"] == ["email"]
    assert await lead_id(intake, new_email) == lead
    assert await lead_id(intake, f"ines.ferreira.{tag}@porto-freight.example") == lead, (
        "the old address still finds her"
    )
