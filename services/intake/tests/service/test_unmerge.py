"""Undoing a merge: both leads live again with their own touches, keys and activities; lead.unmerged."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Intake
from .test_flows import lead_id, submit
from .test_webhooks import new_tag

pytestmark = pytest.mark.service

WHY = {"actor": "lea@ops", "reason": "two sisters, not one person"}


async def merged_pair(intake: Intake, tag: str) -> tuple[str, str]:
    """Two similar people of one company, merged from the review queue: (survivor, merged)."""
    company = f"Linden Apotheke {tag}"
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
        first_name="Margareta",
        last_name="Schulz",
        email=f"schulze.{tag}@yahoo.example",
        phone=f"+49 30 {int(tag, 16) % 10**7:07d}",
        country="DE",
        company=company,
        source_system="webinar",
        source_id=f"z-{tag}",
    )
    await intake.drain()
    survivor = await lead_id(intake, f"m.schulz.{tag}@gmail.com")
    other = await lead_id(intake, f"schulze.{tag}@yahoo.example")
    activity = {
        "activity_id": f"dl-{tag}",
        "lead_id": other,
        "activity_type": "download",
        "occurred_at": "2026-03-04T10:15:00Z",
    }
    assert (
        await intake.client.post("/v1/activities", json=activity, headers=intake.auth("write"))
    ).is_success
    await intake.drain()
    pairs = (
        await intake.client.get("/v1/duplicates", params={"limit": 500}, headers=intake.auth("read"))
    ).json()
    pair = next(p for p in pairs["items"] if {str(p["lead_id"]), str(p["candidate_id"])} == {survivor, other})
    merged = await intake.client.post(
        f"/v1/duplicates/{pair['id']}/merge", json={"survivor": survivor}, headers=intake.auth("write")
    )
    assert merged.status_code == 200, merged.text
    await intake.drain()
    return survivor, other


async def detail(intake: Intake, lead: str) -> dict[str, Any]:
    lead_json: dict[str, Any] = (
        await intake.client.get(f"/v1/leads/{lead}", headers=intake.auth("read"))
    ).json()
    return lead_json


async def test_an_unmerge_restores_both_leads_with_their_own_touches_keys_and_activities(
    intake: Intake,
) -> None:
    tag = new_tag()
    survivor, other = await merged_pair(intake, tag)
    assert (await detail(intake, survivor))["profile"]["country"] == "DE", "the merge filled the country"

    answer = await intake.client.post(f"/v1/leads/{other}/unmerge", json=WHY, headers=intake.auth("write"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["survivor"] == survivor

    events = await intake.drain()
    assert [(e.type, e.data["lead_id"], e.data["survivor_id"]) for e in events] == [
        ("lead.unmerged", other, survivor)
    ]
    assert events[0].data["profile"]["email"] == f"schulze.{tag}@yahoo.example"
    assert events[0].data["survivor_profile"]["country"] is None
    assert events[0].data["survivor_profile"]["phone"] is None

    restored, kept = await detail(intake, other), await detail(intake, survivor)
    assert restored["merged_into"] is None
    assert [t["source_id"] for t in restored["touches"]] == [f"z-{tag}"]
    assert [t["source_id"] for t in kept["touches"]] == [f"w-{tag}"]
    assert kept["profile"]["phone"] is None
    assert await lead_id(intake, f"schulze.{tag}@yahoo.example") == other
    async with intake.pool.acquire() as conn:
        owner = await conn.fetchval("SELECT lead_id FROM activities WHERE activity_id = $1", f"dl-{tag}")
        status = await conn.fetchval(
            "SELECT status FROM duplicates WHERE $1::uuid IN (lead_id, candidate_id)"
            " AND $2::uuid IN (lead_id, candidate_id)",
            survivor,
            other,
        )
    assert str(owner) == other
    assert status == "dismissed", "an undone merge says the two are different people"

    again = await intake.client.post(f"/v1/leads/{other}/unmerge", json=WHY, headers=intake.auth("write"))
    assert again.status_code == 409
    await submit(intake, email=f"schulze.{tag}@yahoo.example", source_system="website", source_id=f"x-{tag}")
    events = await intake.drain()
    assert [(e.type, e.data["lead_id"]) for e in events] == [("lead.updated", other)]


async def test_an_unmerge_of_a_live_or_unknown_lead_is_refused(intake: Intake) -> None:
    tag = new_tag()
    survivor, _ = await merged_pair(intake, tag)
    live = await intake.client.post(f"/v1/leads/{survivor}/unmerge", json=WHY, headers=intake.auth("write"))
    assert live.status_code == 409
    assert "not merged" in live.json()["detail"]
    unknown = await intake.client.post(
        "/v1/leads/6f1c2d3e-0000-4000-8000-000000000001/unmerge", json=WHY, headers=intake.auth("write")
    )
    assert unknown.status_code == 404
    no_reason = await intake.client.post(
        f"/v1/leads/{survivor}/unmerge", json={"actor": "lea"}, headers=intake.auth("write")
    )
    assert no_reason.status_code == 422


async def test_a_merge_made_before_merges_were_recorded_cannot_be_undone(intake: Intake) -> None:
    tag = new_tag()
    survivor, _ = await merged_pair(intake, tag)
    await submit(intake, email=f"old.merge.{tag}@gmail.com", source_system="website", source_id=f"o-{tag}")
    await intake.drain()
    old = await lead_id(intake, f"old.merge.{tag}@gmail.com")
    async with intake.pool.acquire() as conn:
        await conn.execute("UPDATE leads SET merged_into = $1 WHERE id = $2", survivor, old)
    answer = await intake.client.post(f"/v1/leads/{old}/unmerge", json=WHY, headers=intake.auth("write"))
    assert answer.status_code == 409
    assert "before merges were recorded" in answer.json()["detail"]
