"""capture_many writes many new people in a few statements and ends where capture() one by one ends."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from leadflow_devstack.testing import wait_blocking
from leadflow_intake.adapters import repository as repo
from leadflow_intake.bootstrap import dedup_policy
from leadflow_intake.use_cases.capture import CaptureResult, capture, capture_many
from leadflow_shared.contracts.envelope import Envelope, decode
from leadflow_shared.contracts.lead import Consent, LeadSubmission, QualifyingAnswers

from .conftest import Intake
from .test_webhooks import phone


def batch(tag: str) -> list[LeadSubmission]:
    """A partition batch with every path: new people, a repeat, a redelivery, a rejection, merges."""
    company, other, hl = f"Harbour Lights {tag}", f"Quayside Tools {tag}", f"hl-{tag}.example"

    def person(source_id: str, **fields: Any) -> LeadSubmission:
        return LeadSubmission(source_system="website", source_id=f"{source_id}-{tag}", **fields)

    return [
        person("a", first_name="Ines", last_name="Moreau", email=f"ines@{hl}", company=company),
        person("b", first_name="Tomas", last_name="Berg", email=f"tomas@{hl}", company=company),
        person("h", first_name="Tobias", last_name="Berg", email=f"tb.{tag}@yahoo.example", company=company),
        person("c", first_name="Ines", last_name="Moreau", email=f"ines@{hl}", phone=phone(tag)),
        person("a", first_name="Ines", last_name="Moreau", email=f"ines@{hl}", company=company),
        person("d", first_name="Known", last_name="Person", email=f"known@{tag}.example"),
        person("e", first_name="No", last_name="Contact", company=other),
        person("f", first_name="Paula", last_name="Quint", email=f"pq.{tag}@gmail.com", company=other),
        person("g", first_name="Paula", last_name="Quint", email=f"paula.{tag}@outlook.com", company=other),
        person("i", first_name="Solo", last_name="Lead", email=f"solo@s-{tag}.example", company=f"S {tag}"),
    ]


async def run(intake: Intake, *, together: bool) -> tuple[list[CaptureResult], list[tuple[str, str]]]:
    """Capture the batch after one known person was stored; answer the results and the events per lead."""
    tag = uuid.uuid4().hex[:8]
    policy = dedup_policy(intake.settings)
    async with intake.uow() as uow:
        known = LeadSubmission(
            first_name="Known", last_name="Person", email=f"known@{tag}.example", source_id=f"k-{tag}"
        )
        await capture(uow, known, policy=policy)
    results, envelopes = await captured(intake, batch(tag), together=together)
    return results, [(e.type, str(e.data.get("lead_id"))) for e in envelopes]


async def captured(
    intake: Intake, submissions: list[LeadSubmission], *, together: bool
) -> tuple[list[CaptureResult], list[Envelope]]:
    """Capture the submissions in one transaction, as a batch or one by one; answer the results and events."""
    policy = dedup_policy(intake.settings)
    async with intake.pool.acquire() as conn:
        start = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    async with intake.uow() as uow:
        if together:
            results = await capture_many(uow, [(s, None) for s in submissions], policy=policy)
        else:
            results = [await capture(uow, s, policy=policy) for s in submissions]
    async with intake.pool.acquire() as conn:
        rows = await conn.fetch("SELECT payload FROM outbox WHERE id > $1 ORDER BY id", start)
        await conn.execute("UPDATE outbox SET published_at = now() WHERE id > $1", start)
    return results, [decode(r["payload"]) for r in rows]


def shape(results: list[CaptureResult], events: list[tuple[str, str]]) -> tuple[Any, ...]:
    """What must agree between the two paths, with lead ids replaced by their first position."""
    names: dict[str, int] = {}

    def name(lead_id: object) -> int | None:
        return None if lead_id is None else names.setdefault(str(lead_id), len(names))

    outcomes = [(r.outcome, name(r.lead_id), name(r.review_against)) for r in results]
    per_lead: dict[int | None, list[str]] = {}
    for event_type, lead_id in events:
        if event_type.startswith("lead."):
            per_lead.setdefault(name(lead_id), []).append(event_type)
    return outcomes, sorted(per_lead.items(), key=lambda kv: kv[0] if kv[0] is not None else -1)


async def test_a_batch_of_submissions_ends_as_capturing_them_one_by_one(intake: Intake) -> None:
    together = shape(*await run(intake, together=True))
    one_by_one = shape(*await run(intake, together=False))
    assert together == one_by_one
    outcomes = [outcome for outcome, _, _ in together[0]]
    assert outcomes == [
        "captured",
        "captured",
        "captured",
        "updated",
        "duplicate_delivery",
        "updated",
        "rejected",
        "captured",
        "captured",
        "captured",
    ]
    reviewed = together[0][2]
    assert reviewed[2] == together[0][1][1], "Tobias Berg is listed for review against Tomas Berg"
    assert together[0][8][2] == together[0][7][1], "Paula Quint with another address is reviewed, not merged"


async def test_a_batch_written_twice_captures_each_person_once(intake: Intake) -> None:
    tag = uuid.uuid4().hex[:8]
    policy = dedup_policy(intake.settings)
    submissions = [
        LeadSubmission(email=f"p{n}@{tag}.example", first_name=f"P{n}", source_id=f"s{n}-{tag}")
        for n in range(50)
    ]
    async with intake.uow() as uow:
        first = await capture_many(uow, [(s, None) for s in submissions], policy=policy)
    async with intake.uow() as uow:
        second = await capture_many(uow, [(s, None) for s in submissions], policy=policy)
    assert {r.outcome for r in first} == {"captured"}
    assert [r.outcome for r in second] == ["duplicate_delivery"] * 50
    assert [r.lead_id for r in second] == [r.lead_id for r in first]
    async with intake.pool.acquire() as conn:
        pattern = f"%@{tag}.example"
        stored = await conn.fetchval("SELECT count(*) FROM leads WHERE email LIKE $1", pattern)
        keys = await conn.fetchval("SELECT count(*) FROM identity_keys WHERE value LIKE $1", pattern)
    assert (stored, keys) == (50, 50)


async def test_a_batch_that_loses_a_race_for_a_person_takes_its_people_one_by_one(intake: Intake) -> None:
    tag = uuid.uuid4().hex[:8]
    policy = dedup_policy(intake.settings)
    racer = LeadSubmission(email=f"race@{tag}.example", first_name="Ada", source_id=f"r0-{tag}")
    batch_items = [
        LeadSubmission(email=f"race@{tag}.example", first_name="Ada", source_id=f"r1-{tag}"),
        LeadSubmission(email=f"calm@{tag}.example", first_name="Bo", source_id=f"r2-{tag}"),
    ]
    async with intake.uow() as first:
        won = await capture(first, racer, policy=policy)
        # The batch reads before the racer commits, then waits on its keys and finds them taken.
        batch = asyncio.create_task(_capture_batch(intake, batch_items))
        await wait_blocking(first.conn)
        assert not batch.done()
    results = await batch
    assert [r.outcome for r in results] == ["updated", "captured"]
    assert results[0].lead_id == won.lead_id


async def _capture_batch(intake: Intake, items: list[LeadSubmission]) -> list[CaptureResult]:
    async with intake.uow() as uow:
        return await capture_many(uow, [(s, None) for s in items], policy=dedup_policy(intake.settings))


def known_people(tag: str) -> tuple[list[LeadSubmission], list[LeadSubmission]]:
    """Two stored people, then a batch that meets them again by email and by phone, each twice (Ines twice in
    a row), around a rejection, a redelivery and a new person."""
    ines, tomas = phone(tag), phone(tag).replace("+49151", "+49152")

    def person(source_id: str, **fields: Any) -> LeadSubmission:
        return LeadSubmission(source_system="website", source_id=f"{source_id}-{tag}", **fields)

    stored = [
        person("k1", first_name="Ines", email=f"ines@hl-{tag}.example", phone=ines, company="Harbour Lights"),
        person("k2", last_name="Berg", email=f"tomas@quay-{tag}.example", phone=tomas, company="Quayside"),
    ]
    batch = [
        person(
            "a",
            email=f"ines@hl-{tag}.example",
            company=f"Ines Consulting {tag}",
            job_title="CEO",
            custom_fields={"b": 1},
            consent=Consent(sms=True),
        ),
        person("b", first_name="Tomas", phone=tomas, country="Germany", custom_fields={"a": 2}),
        person(
            "d",
            last_name="Moreau",
            phone=ines,
            custom_fields={"c": 3, "b": 0},
            answers=QualifyingAnswers(budget="50k EUR"),
        ),
        person("c", first_name="No", last_name="Contact"),
        person("k1", email=f"TOMAS@quay-{tag}.example", company=f"Redelivered {tag}"),
        person("e", first_name="Solo", email=f"solo@s-{tag}.example", company=f"S {tag}"),
        person(
            "f",
            email=f"tomas@quay-{tag}.example",
            company=f"Berg Freight {tag}",
            is_test=True,
            custom_fields={"zz": 1, "a": 1, "list": [1, 2]},
        ),
    ]
    return stored, batch


async def test_runs_of_known_people_end_as_capturing_them_one_by_one(intake: Intake) -> None:
    together, one_by_one = [await run_known(intake, together=flag) for flag in (True, False)]
    assert together == one_by_one
    outcomes = [outcome for outcome, _, _ in together[0][0]]
    assert outcomes == [
        "updated",
        "updated",
        "updated",
        "rejected",
        "duplicate_delivery",
        "captured",
        "updated",
    ]
    assert [n for n, _ in together[1]] == [0, 1, 0, 1], "each person is updated twice, in the batch's order"


async def run_known(intake: Intake, *, together: bool) -> tuple[Any, ...]:
    """capture_many or capture() of known_people(): the shape, each update's profile as the event carries it
    (keys in their order), the stored profiles and the touches in the order they were recorded."""
    tag = uuid.uuid4().hex[:8]
    stored, submissions = known_people(tag)
    async with intake.uow() as uow:
        known = [await capture(uow, s, policy=dedup_policy(intake.settings)) for s in stored]
    results, envelopes = await captured(intake, submissions, together=together)
    async with intake.pool.acquire() as conn:
        profiles = [await conn.fetchval("SELECT profile FROM leads WHERE id = $1", k.lead_id) for k in known]
        touches = await conn.fetch(
            "SELECT lead_id, source_id FROM touches WHERE lead_id = ANY($1::uuid[]) ORDER BY id",
            [k.lead_id for k in known],
        )
    positions = {str(k.lead_id): n for n, k in enumerate(known)}

    def untagged(value: Any) -> str:
        return json.dumps(value).replace(tag, "TAG").replace(phone(tag)[6:], "PHONE")

    updated = [e.data for e in envelopes if e.type == "lead.updated"]
    updates = [(positions[str(data["lead_id"])], untagged(data["profile"])) for data in updated]
    recorded = [(positions[str(t["lead_id"])], untagged(t["source_id"])) for t in touches]
    events = [(e.type, str(e.data.get("lead_id"))) for e in envelopes]
    return shape(results, events), updates, [untagged(p) for p in profiles], recorded


async def test_company_candidates_list_people_by_domain_and_by_name_with_a_glance_at_each(
    intake: Intake,
) -> None:
    tag = uuid.uuid4().hex[:8]
    acme, domain = f"Acme Anvils {tag}", f"acme-{tag}.example"
    people = [
        LeadSubmission(first_name="Ada", last_name="Both", email=f"ada@{domain}", company=acme),
        LeadSubmission(
            first_name="Ben", last_name="Domain", email=f"ben@{domain}", company=f"Elsewhere {tag}"
        ),
        LeadSubmission(first_name="Cy", last_name="Name", email=f"cy.{tag}@gmail.com", company=acme),
    ]
    policy = dedup_policy(intake.settings)
    ids: list[uuid.UUID] = []
    async with intake.uow() as uow:
        for person in people:
            lead_id = (await capture(uow, person, policy=policy)).lead_id
            assert lead_id is not None
            ids.append(lead_id)
    async with intake.pool.acquire() as conn:
        key = await conn.fetchval("SELECT company_key FROM leads WHERE id = $1", ids[0])
        stored_domain = await conn.fetchval("SELECT company_domain FROM leads WHERE id = $1", ids[0])
        by_domain, by_key, glances = await repo.company_candidates(conn, [stored_domain], [key], 50)
        profiles = await repo.candidate_profiles(conn, [ids[0], ids[2]])
    ada, ben, cy = ids
    assert {d: sorted(found) for d, found in by_domain.items()} == {stored_domain: sorted([ada, ben])}
    assert {k: sorted(found) for k, found in by_key.items()} == {key: sorted([ada, cy])}
    assert {lead_id: glance[:3] for lead_id, glance in glances.items()} == {
        ada: ("ada both", f"ada@{domain}", None),
        ben: ("ben domain", f"ben@{domain}", None),
        cy: ("cy name", f"cy.{tag}@gmail.com", None),
    }
    assert {lead_id: (p.first_name, p.company, p.company_domain) for lead_id, p in profiles.items()} == {
        ada: ("Ada", acme, stored_domain),
        cy: ("Cy", acme, None),
    }


async def test_a_lead_stored_before_name_keys_is_glanced_at_by_the_name_in_its_profile(
    intake: Intake,
) -> None:
    tag = uuid.uuid4().hex[:8]
    domain = f"older-{tag}.example"
    policy = dedup_policy(intake.settings)
    async with intake.uow() as uow:
        lead_id = (
            await capture(
                uow,
                LeadSubmission(
                    first_name="Zoë", last_name="Ölund", email=f"zoe@{domain}", company=f"Older {tag}"
                ),
                policy=policy,
            )
        ).lead_id
    assert lead_id is not None
    async with intake.pool.acquire() as conn:
        assert await conn.fetchval("SELECT name_key FROM leads WHERE id = $1", lead_id) == "zoe olund"
        await conn.execute("UPDATE leads SET name_key = NULL WHERE id = $1", lead_id)
        _, _, glances = await repo.company_candidates(conn, [domain], [], 50)
    assert {lead_id: glance[:3] for lead_id, glance in glances.items()} == {
        lead_id: ("zoe olund", f"zoe@{domain}", None)
    }


async def test_newer_facts_of_a_known_person_replace_older_ones_and_an_older_submission_only_fills_gaps(
    intake: Intake,
) -> None:
    from datetime import UTC, datetime, timedelta

    tag = uuid.uuid4().hex[:8]
    first = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)

    def seen(at: datetime, n: str, **fields: Any) -> LeadSubmission:
        return LeadSubmission(
            email=f"lena.{tag}@example.com",
            first_name="Lena",
            source_id=f"{n}-{tag}",
            submitted_at=at,
            **fields,
        )

    await captured(intake, [seen(first, "1", country="DE")], together=False)
    newer = seen(first + timedelta(days=2), "2", country="AT", answers=QualifyingAnswers(budget="EUR 40k"))
    older = seen(first - timedelta(days=2), "3", country="FR", job_title="Head of Ops")
    for together in (True, False):
        source = f"{together}"
        results, events = await captured(
            intake,
            [s.model_copy(update={"source_id": f"{s.source_id}-{source}"}) for s in (newer, older)],
            together=together,
        )
        assert [r.outcome for r in results] == ["updated", "updated"]
        changes = [e.data["changed"] for e in events if e.type == "lead.updated"]
        if together:
            assert changes == [["country", "answers.budget"], ["job_title", "seniority"]]
        else:
            assert changes == [[], []], "the facts are already known from the first round"
    async with intake.pool.acquire() as conn:
        profile = await conn.fetchval("SELECT profile FROM leads WHERE email = $1", f"lena.{tag}@example.com")
    assert (profile["country"], profile["job_title"], profile["answers"]["budget"]) == (
        "AT",
        "Head of Ops",
        "EUR 40k",
    )


async def test_a_later_opt_out_wins_and_an_older_opt_in_does_not_undo_it(intake: Intake) -> None:
    from datetime import UTC, datetime, timedelta

    tag = uuid.uuid4().hex[:8]
    at = datetime(2026, 6, 1, tzinfo=UTC)

    def seen(when: datetime, n: str, opted_in: bool) -> LeadSubmission:
        return LeadSubmission(
            email=f"noah.{tag}@example.com",
            source_id=f"{n}-{tag}",
            submitted_at=when,
            consent=Consent(email=opted_in),
        )

    await captured(intake, [seen(at, "1", True), seen(at + timedelta(hours=1), "2", False)], together=False)
    _, events = await captured(intake, [seen(at - timedelta(days=1), "3", True)], together=True)
    assert [e.data["changed"] for e in events if e.type == "lead.updated"] == [[]]
    async with intake.pool.acquire() as conn:
        profile = await conn.fetchval("SELECT profile FROM leads WHERE email = $1", f"noah.{tag}@example.com")
    assert profile["consent"]["email"] is False
