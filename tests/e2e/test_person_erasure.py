"""Erasure across the four running services: a person nurtured, then converted with a deal, is forgotten
everywhere while every KPI total stays as it was."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from typing import Any

import asyncpg
import pytest

from leadflow_devstack.testing import (
    SERVICES,
    ServiceProcess,
    TestStack,
    bin_path,
    personal_traces,
    wait_until,
)

from .test_full_pipeline import READY, Pipeline, approve_budget, auth, lead

pytestmark = pytest.mark.e2e

KPIS = {
    "intake": "/v1/kpis/sources",
    "qualification": "/v1/kpis/funnel",
    "opportunity": "/v1/kpis",
    "nurture": "/v1/kpis/tracks",
}
# Keys whose values follow the clock, not the data.
WINDOW = {"since", "until", "from", "to", "start", "end", "generated_at", "as_of"}


def letters(tag: str) -> str:
    """A hex tag as letters, so a unique name is still a name."""
    return tag.translate(str.maketrans("0123456789", "ghijklmnop")).capitalize()


@pytest.fixture
def pipeline(test_stack: TestStack, running_services: dict[str, ServiceProcess]) -> Pipeline:
    return Pipeline(test_stack, running_services)


async def kpi_totals(pipeline: Pipeline) -> dict[str, Any]:
    figures = {}
    for service, path in KPIS.items():
        answer = await pipeline.get(service, path)
        assert answer is not None, f"{service} {path} did not answer"
        figures[service] = {k: v for k, v in answer.items() if k not in WINDOW}
    return figures


async def steady_kpis(pipeline: Pipeline) -> dict[str, Any]:
    """The KPI totals once two reads a second apart agree (running totals fold in the background)."""
    last: list[dict[str, Any]] = []

    async def settled() -> dict[str, Any] | None:
        now = await kpi_totals(pipeline)
        same = bool(last) and last[-1] == now
        last.append(now)
        return now if same else None

    return await wait_until(settled, within=60, every=1.0)


def cli_export(pipeline: Pipeline, email: str) -> dict[str, Any]:
    """`leadflow person export EMAIL` against the running services, as an operator runs it."""
    env = {**os.environ, "LEADFLOW_TOKEN": pipeline.stack.tokens["admin"]}
    env.update({f"LEADFLOW_{s.upper()}_URL": pipeline.services[s].url for s in SERVICES})
    done = subprocess.run(
        [bin_path("leadflow"), "person", "export", email], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


async def traces(stack: TestStack, needles: list[str]) -> list[str]:
    found = []
    for service in SERVICES:
        conn = await asyncpg.connect(stack.dsn(service))
        try:
            found += await personal_traces(conn, service, needles)
        finally:
            await conn.close()
    return found


async def test_an_erasure_request_completes_in_all_four_services_and_leaves_no_trace_and_the_same_kpis(
    pipeline: Pipeline, test_stack: TestStack
) -> None:
    tag = uuid.uuid4().hex[:8]
    first, last = f"Sunniva{letters(tag)}", f"Rasmussen{letters(tag[::-1])}"
    phone = f"+4791{int(tag, 16) % 10**6:06d}"
    domain = f"bergen-bulk-{tag}.example"
    body = lead(
        first, last, domain, company="Bergen Bulk AS", phone=phone, answers={**READY, "budget": "none"}
    )
    person = await pipeline.submit(body)
    await pipeline.status_becomes(person, "nurturing")

    async def enrolled() -> dict[str, Any] | None:
        view = await pipeline.get("nurture", f"/v1/leads/{person}")
        return view if view and view.get("enrollments") else None

    await wait_until(enrolled, within=30)
    await approve_budget(pipeline, body["email"])
    await pipeline.status_becomes(person, "converted")
    needles = [body["email"], first, last, phone[3:]]
    await wait_until(lambda: traces(test_stack, needles), within=30)
    before = await steady_kpis(pipeline)
    exported = cli_export(pipeline, body["email"].upper())["services"]
    assert [str(lead["id"]) for lead in exported["intake"]["records"]["leads"]] == [person]
    history = [h["to_status"] for h in exported["qualification"]["records"]["status_history"]]
    assert history[-2:] == ["qualified", "converted"]
    assert exported["opportunity"]["records"]["contacts"][0]["email"] == body["email"]
    assert len(exported["opportunity"]["records"]["opportunities"]) == 1
    assert [e["track"] for e in exported["nurture"]["records"]["enrollments"]] == ["budget-drip"]

    async with pipeline.client("intake") as client:
        asked = await client.post(
            "/v1/erasure-requests", json={"email": body["email"]}, headers=auth(test_stack.tokens["admin"])
        )
        assert asked.status_code == 202, asked.text
        request_id = asked.json()["request_id"]

        async def done() -> dict[str, Any] | None:
            status = await client.get(
                f"/v1/erasure-requests/{request_id}", headers=auth(test_stack.tokens["admin"])
            )
            answer = dict(status.json())
            return answer if answer["status"] == "done" else None

        status = await wait_until(done, within=60)

    assert {s["service"] for s in status["services"] if s["status"] == "done"} == set(SERVICES)
    assert await traces(test_stack, needles) == []
    assert await steady_kpis(pipeline) == before
    after = json.dumps(cli_export(pipeline, body["email"])["services"])
    assert body["email"] not in after
    assert last not in after
