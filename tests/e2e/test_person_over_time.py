"""A person's data over time, across the services as processes: corrections and new facts are re-judged."""

from __future__ import annotations

import httpx
import pytest

from leadflow_devstack.testing import ServiceProcess, TestStack

from .test_qualification_outcomes import READY, auth, judged, submission, submit

pytestmark = pytest.mark.e2e


async def test_an_archived_lead_corrected_with_a_new_country_and_budget_is_judged_again_and_qualifies(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    body = submission("Ngozi", country="BR", answers={**READY, "budget": "no budget"})
    lead_id = await submit(test_stack, running_services, body)
    await judged(test_stack, running_services, lead_id, "archived")

    async with httpx.AsyncClient(base_url=running_services["intake"].url) as client:
        answer = await client.patch(
            f"/v1/leads/{lead_id}",
            json={
                "actor": "amara@sales",
                "reason": "moved to Vienna, budget approved",
                "country": "Austria",
                "answers": {"budget": "EUR 80,000"},
            },
            headers=auth(test_stack.tokens["write"]),
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] == ["country", "answers.budget"]

    lead = await judged(test_stack, running_services, lead_id, "qualified", "converted")
    assert lead["decision"]["reason"] is None
    moves = [(h["from_status"], h["to_status"]) for h in lead["history"]]
    assert ("archived", "qualified") in moves or ("archived", "open") in moves, moves


async def test_a_nurturing_lead_submitted_again_with_a_budget_comes_back_qualified(
    test_stack: TestStack, running_services: dict[str, ServiceProcess]
) -> None:
    first = submission("Obinna", answers={**READY, "budget": "no budget"})
    lead_id = await submit(test_stack, running_services, first)
    await judged(test_stack, running_services, lead_id, "nurturing")

    again = {
        **first,
        "source_id": first["source_id"] + "-again",
        "answers": {**READY, "budget": "EUR 80,000"},
    }
    await submit(test_stack, running_services, again)

    lead = await judged(test_stack, running_services, lead_id, "qualified", "converted")
    assert "nurturing" in [h["from_status"] for h in lead["history"]]
