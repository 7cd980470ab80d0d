"""Batch handlers of intake's and opportunity's events handle many leads in a few statements and end where one
by one ends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import pytest_asyncio
from prometheus_client import REGISTRY

from leadflow_devstack.builders import captured, profile, sent, touch
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases import intake_events, pipeline_events, sales
from leadflow_shared.consumer import Reject
from leadflow_shared.contracts.envelope import Envelope, new_event
from leadflow_shared.contracts.events import (
    LeadConverted,
    LeadEngaged,
    LeadMerged,
    LeadUpdated,
)
from leadflow_shared.contracts.lead import ActivityType, Channel, LeadProfile, QualifyingAnswers
from leadflow_shared.outbox import Outbox
from leadflow_shared.uow import UnitOfWork, UnitOfWorkFactory

from .conftest import current

pytestmark = pytest.mark.service

Ids = dict[str, uuid.UUID]
Items = list[tuple[Envelope, Any]]
Single = Callable[[UnitOfWork, cfg.Config, Any, Envelope], Awaitable[None]]
Batch = Callable[[UnitOfWork, cfg.Config, Items], Awaitable[None]]

READY = {"need": "We re-key every order", "authority": "Decision maker", "budget": "€80k", "timeline": "Q1"}
NO_BUDGET = {**READY, "budget": "under 2k"}

# The people of every run, by label: each outcome, and the unusual paths.
PEOPLE: dict[str, dict[str, Any]] = {
    "ready": {},
    "browsing": {"answers": {**READY, "need": "just browsing"}},
    "evaluator": {"answers": {**READY, "authority": "I am an evaluator"}},
    "no-budget": {"answers": NO_BUDGET},
    "abroad": {"country": "BR"},
    "tester": {"is_test": True},
    "silent": {"answers": {}},
    "engaged-before": {"answers": {**READY, "need": None}},
    "known": {},
    "twice": {"answers": {}},
    "merged-away": {},
    "overridden": {"answers": {}},
    "unknown": {},
}


# The Aaltos of Nordhafen Logistik, a German logistics firm, each ready to buy unless PEOPLE says otherwise.
NORDHAFEN: dict[str, Any] = {
    "last_name": "Aalto",
    "company": "Nordhafen Logistik GmbH",
    "job_title": "Head of Operations",
    "seniority": "director",
    "country": "DE",
    "industry": "Logistics",
    "company_size": 260,
    "answers": QualifyingAnswers.model_validate(READY),
}


def aalto(label: str, **changes: Any) -> LeadProfile:
    """The Aalto of one label in PEOPLE, at the label's address."""
    someone = {"first_name": label.title().replace("-", ""), "email": f"{label}@nordhafen-logistik.example"}
    return profile(NORDHAFEN, someone, PEOPLE[label], changes)


TOUCH = touch(
    channel=Channel.WEBINAR,
    source_system="zoom",
    source_id="webinar-42",
    occurred_at=datetime(2026, 11, 2, tzinfo=UTC),
)


def arrived(lead_id: uuid.UUID, p: LeadProfile) -> tuple[Envelope, Any]:
    """The lead captured from the webinar, as the batch handler receives it."""
    return sent(captured(p, lead_id=lead_id, touch=TOUCH))


def updated(lead_id: uuid.UUID, p: LeadProfile) -> tuple[Envelope, Any]:
    return sent(LeadUpdated(lead_id=lead_id, profile=p, touch=TOUCH))


def engaged(lead_id: uuid.UUID, activity_id: str, kind: ActivityType, **more: Any) -> tuple[Envelope, Any]:
    return sent(
        LeadEngaged(
            lead_id=lead_id,
            activity_id=activity_id,
            activity_type=kind,
            occurred_at=datetime(2026, 11, 20, tzinfo=UTC),
            **more,
        )
    )


@pytest_asyncio.fixture
async def assignment(uows: UnitOfWorkFactory) -> AsyncIterator[Any]:
    """Each test starts without an assignment policy and with empty teams, and ends so."""

    async def reset() -> None:
        async with uows.pool.acquire() as conn:
            await conn.execute("DELETE FROM config_versions WHERE kind = 'assignment'")
            await conn.execute("DELETE FROM assignment_state")
            # Open leads of earlier runs would count against an owner's cap.
            await conn.execute("UPDATE leads SET team = NULL, owner = NULL WHERE team IS NOT NULL")

    async def put(policy: dict[str, Any]) -> None:
        async with uows() as uow:
            await cfg.put_simple(uow.conn, cfg.ASSIGNMENT, policy, "test")

    await reset()
    yield put, reset
    await reset()


async def before_captures(uow: UnitOfWork, ids: Ids) -> None:
    """One person is known already, one was merged away before intake's capture came, one engaged first."""
    await intake_events.lead_captured(
        uow, await current(uow), *reversed(arrived(ids["known"], aalto("known")))
    )
    await intake_events.lead_engaged(
        uow,
        await current(uow),
        *reversed(engaged(ids["engaged-before"], "demo-1", ActivityType.DEMO_REQUESTED)),
    )
    merged = LeadMerged(lead_id=ids["known"], merged_id=ids["merged-away"], profile=aalto("known"))
    await intake_events.lead_merged(uow, await current(uow), merged, new_event(merged, source="intake"))


def captures(ids: Ids) -> Items:
    """Everybody's capture, and a second capture of one of them."""
    items = [arrived(ids[label], aalto(label)) for label in PEOPLE]
    return [*items, arrived(ids["twice"], aalto("twice", answers=READY))]


async def before_changes(uow: UnitOfWork, ids: Ids) -> None:
    """Everybody but `unknown` is captured; one engaged, one is merged away, one is qualified by hand."""
    for label in PEOPLE:
        if label != "unknown":
            await intake_events.lead_captured(
                uow, await current(uow), *reversed(arrived(ids[label], aalto(label)))
            )
    await intake_events.lead_engaged(
        uow,
        await current(uow),
        *reversed(engaged(ids["engaged-before"], "demo-1", ActivityType.DEMO_REQUESTED)),
    )
    merged = LeadMerged(lead_id=ids["known"], merged_id=ids["merged-away"], profile=aalto("known"))
    await intake_events.lead_merged(uow, await current(uow), merged, new_event(merged, source="intake"))
    await sales.qualify(
        uow,
        await current(uow),
        ids["overridden"],
        sales.ManualQualify(actor="lars.sales", reason="met at a fair"),
    )


def updates(ids: Ids) -> Items:
    """New answers for most, two updates of one lead, one of a merged lead and one of an unknown lead."""
    changes: dict[str, dict[str, Any]] = {
        "ready": {"answers": NO_BUDGET},
        "browsing": {"answers": READY},
        "evaluator": {"answers": {**READY, "need": "just browsing"}},
        "abroad": {"country": "AT"},
        "silent": {"answers": READY},
        "twice": {"answers": READY},
        "merged-away": {"answers": READY},
        "overridden": {"answers": NO_BUDGET},
        "unknown": {},
        "engaged-before": {},
    }
    items = [updated(ids[label], aalto(label, **change)) for label, change in changes.items()]
    return [*items, updated(ids["twice"], aalto("twice", answers=NO_BUDGET))]


def engagements(ids: Ids) -> Items:
    """Engagements and a trigger, a repeated activity, two for one lead, a merged and an unknown lead."""
    return [
        engaged(ids["silent"], "demo-2", ActivityType.DEMO_REQUESTED),
        engaged(ids["browsing"], "funding", ActivityType.TRIGGER, trigger="funding_round"),
        engaged(ids["engaged-before"], "demo-1", ActivityType.DEMO_REQUESTED),
        engaged(ids["twice"], "pricing-1", ActivityType.PRICING_PAGE_VISITED),
        engaged(ids["merged-away"], "webinar-1", ActivityType.WEBINAR_ATTENDED),
        engaged(ids["unknown"], "email-1", ActivityType.EMAIL_CLICKED),
        engaged(ids["ready"], "pricing-2", ActivityType.PRICING_PAGE_VISITED),
        engaged(ids["twice"], "demo-3", ActivityType.DEMO_REQUESTED),
        engaged(ids["overridden"], "meeting-1", ActivityType.MEETING_HELD),
        engaged(ids["abroad"], "demo-4", ActivityType.DEMO_REQUESTED),
    ]


def converted(lead_id: uuid.UUID) -> tuple[Envelope, Any]:
    event = LeadConverted(lead_id=lead_id, account_id=uuid.UUID(int=1), contact_id=uuid.UUID(int=2))
    return new_event(event, source="opportunity"), event


def conversions(ids: Ids) -> Items:
    """Qualified leads converted, one of them twice, and a lead qualified by hand."""
    return [converted(ids[label]) for label in ("ready", "engaged-before", "overridden", "ready", "known")]


async def run(
    uows: UnitOfWorkFactory,
    prepare: Callable[[UnitOfWork, Ids], Awaitable[None]],
    batch_of: Callable[[Ids], Items],
    handlers: tuple[Batch, Single],
    *,
    together: bool,
) -> list[Any]:
    """Prepare fresh people, handle the batch in one transaction; answer what it left, by label."""
    ids = {label: uuid.uuid4() for label in PEOPLE}
    async with uows() as uow:
        await prepare(uow, ids)
    async with uows.pool.acquire() as conn:
        start = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    items = batch_of(ids)
    causes = {str(envelope.id): f"event {n}" for n, (envelope, _) in enumerate(items)}
    async with uows() as uow:
        if together:
            await handlers[0](uow, await current(uow), items)
        else:
            for envelope, event in items:
                await handlers[1](uow, await current(uow), event, envelope)
    return await snapshot(uows, ids, causes, start)


async def snapshot(uows: UnitOfWorkFactory, ids: Ids, causes: dict[str, str], start: int) -> list[Any]:
    """The leads, history, decisions, activities and events of the run, ids and clocks replaced by labels."""
    labels = {str(lead_id): label for label, lead_id in ids.items()}
    async with uows.pool.acquire() as conn:
        begun = await conn.fetch(
            "SELECT DISTINCT ON (lead_id) lead_id, correlation_id FROM lead_timeline"
            " WHERE lead_id = ANY($1::uuid[]) ORDER BY lead_id, at, event_id",
            list(ids.values()),
        )
    # Each lead's events carry its journey, begun by the preparation with a fresh correlation id in each run.
    journeys = {row["correlation_id"]: f"journey of {labels[str(row['lead_id'])]}" for row in begun}

    def named(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: named(v) for k, v in value.items() if k != "evaluated_at"}
        if isinstance(value, list):
            return [named(v) for v in value]
        if isinstance(value, uuid.UUID | str):
            text = str(value)
            if text in causes:
                return causes[text]
            if text in journeys:
                return journeys[text]
            for lead_id, label in labels.items():
                text = text.replace(lead_id, label)
            return text
        return value

    every = list(ids.values())
    async with uows.pool.acquire() as conn:
        leads = await conn.fetch("SELECT * FROM leads WHERE id = ANY($1::uuid[])", every)
        history = await conn.fetch(
            "SELECT lead_id, from_status, to_status, category, reason, reason_code, actor FROM status_history"
            " WHERE lead_id = ANY($1::uuid[]) ORDER BY id",
            every,
        )
        decisions = await conn.fetch(
            "SELECT lead_id, criteria_version, outcome, reason, fit_score, engagement_score, cause, body"
            " FROM decisions WHERE lead_id = ANY($1::uuid[]) ORDER BY id",
            every,
        )
        activities = await conn.fetch(
            "SELECT lead_id, activity_id, activity_type, trigger FROM activities"
            " WHERE lead_id = ANY($1::uuid[]) ORDER BY activity_id",
            every,
        )
        outbox = await conn.fetch("SELECT topic, key, payload FROM outbox WHERE id > $1 ORDER BY id", start)
        await conn.execute("UPDATE outbox SET published_at = now() WHERE id > $1", start)
    clocks = {"status_since", "last_progress_at", "created_at", "updated_at"}
    events = []
    for row in outbox:
        payload = orjson.loads(row["payload"])
        events.append(
            (
                row["topic"],
                named(row["key"].decode()),
                payload["type"],
                named(payload["causationid"]),
                named(payload["correlationid"]),
                named(payload["data"]),
            )
        )
    # Per lead, rows keep the order they were written in; across leads a batch writes them lead by lead.
    return [
        sorted((named({k: v for k, v in dict(r).items() if k not in clocks}) for r in leads), key=by_lead),
        sorted((named(dict(r)) for r in history), key=by_lead),
        sorted((named(dict(r)) for r in decisions), key=by_lead),
        sorted((named(dict(r)) for r in activities), key=by_lead),
        events,
    ]


def by_lead(row: dict[str, Any]) -> str:
    return str(row.get("lead_id", row.get("id")))


def per_lead(events: list[Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for _, key, kind, _, _, _ in events:
        found.setdefault(key, []).append(kind)
    return found


CAPTURES = (before_captures, captures, (intake_events.leads_captured, intake_events.lead_captured))
UPDATES = (before_changes, updates, (intake_events.leads_updated, intake_events.lead_updated))
ENGAGEMENTS = (before_changes, engagements, (intake_events.leads_engaged, intake_events.lead_engaged))
CONVERSIONS = (before_changes, conversions, (pipeline_events.leads_converted, pipeline_events.lead_converted))


async def both_ways(uows: UnitOfWorkFactory, scenario: Any) -> list[Any]:
    """Run the scenario through the batch handler, then one by one on fresh people; both must agree."""
    together = await run(uows, *scenario, together=True)
    assert together == await run(uows, *scenario, together=False)
    return together


async def test_a_batch_of_captures_ends_as_capturing_them_one_by_one(uows, assignment):
    leads, _, _, _, events = await both_ways(uows, CAPTURES)
    outcome = {lead["id"]: (lead["status"], lead["disqualification_reason"]) for lead in leads}
    assert outcome == {
        "ready": ("qualified", None),
        "browsing": ("nurturing", "no_need"),
        "evaluator": ("nurturing", "no_authority"),
        "no-budget": ("nurturing", "no_budget"),
        "abroad": ("archived", "not_icp"),
        "tester": ("archived", "invalid"),
        "silent": ("open", None),
        "engaged-before": ("qualified", None),
        "known": ("qualified", None),
        "twice": ("open", None),
        "merged-away": ("archived", None),
        "overridden": ("open", None),
        "unknown": ("qualified", None),
    }
    assert per_lead(events)["ready"] == ["lead.status_changed", "lead.status_changed", "lead.qualified"]
    assert next(lead for lead in leads if lead["id"] == "engaged-before")["engagement_score"] > 0
    assert "known" not in per_lead(events)
    assert "merged-away" not in per_lead(events)
    assert {e[3] for e in events if e[1] == "twice"} == {f"event {list(PEOPLE).index('twice')}"}


async def test_a_batch_of_updates_ends_as_updating_one_by_one(uows, assignment):
    leads, history, _, _, events = await both_ways(uows, UPDATES)
    status = {lead["id"]: (lead["status"], lead["disqualification_reason"]) for lead in leads}
    assert status["ready"] == ("nurturing", "no_budget")
    assert [(h["from_status"], h["to_status"]) for h in history if h["lead_id"] == "ready"][-2:] == [
        ("qualified", "unqualified"),
        ("unqualified", "nurturing"),
    ]
    assert status["browsing"] == ("qualified", None)
    assert status["twice"] == ("nurturing", "no_budget")
    assert status["overridden"] == ("qualified", None)
    assert "unknown" not in status
    assert "merged-away" not in per_lead(events)


async def test_a_batch_of_engagements_ends_as_engaging_one_by_one(uows, assignment):
    leads, _, decisions, activities, events = await both_ways(uows, ENGAGEMENTS)
    scores = {lead["id"]: lead["engagement_score"] for lead in leads}
    assert scores["twice"] > scores["ready"] > 0
    assert ("unknown", "email-1") in {(a["lead_id"], a["activity_id"]) for a in activities}
    assert [d["cause"] for d in decisions if d["lead_id"] == "twice"][-2:] == [
        "engaged: pricing_page_visited",
        "engaged: demo_requested",
    ]
    assert "engaged-before" not in per_lead(events)


ROUND_ROBIN: dict[str, Any] = {
    "rules": [{"team": "dach", "countries": ["DE", "AT", "CH"]}],
    "teams": [{"name": "dach", "members": ["jonas", "lena", "mira"]}, {"name": "world", "members": ["ana"]}],
    "default_team": "world",
}


@pytest.mark.parametrize("cap", [None, 1], ids=["round-robin", "round-robin under a cap"])
async def test_owners_are_assigned_in_a_batch_as_one_by_one(uows, assignment, cap):
    put, reset = assignment
    policy = {**ROUND_ROBIN, "teams": [{**team, "max_open_leads": cap} for team in ROUND_ROBIN["teams"]]}
    await put(policy)
    together = await run(uows, *CAPTURES, together=True)
    await reset()
    await put(policy)
    one_by_one = await run(uows, *CAPTURES, together=False)

    assert together == one_by_one
    owners = {lead["id"]: (lead["team"], lead["owner"]) for lead in together[0]}
    assert owners["abroad"] == ("world", "ana")
    assert owners["ready"][0] == "dach"
    assert "lead.assigned" in per_lead(together[-1])["ready"]


class CountingConnection:
    """A connection that counts the statements sent through it."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.conn, name)
        if name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            self.statements += 1
        return attr


async def statements_for(uows: UnitOfWorkFactory, leads: int) -> tuple[int, int, int]:
    """How many statements capturing, updating and engaging that many leads of every kind sends."""
    labels = [label for label in PEOPLE if label not in ("known", "merged-away")]
    ids = [(uuid.uuid4(), labels[n % len(labels)]) for n in range(leads)]
    batches: list[tuple[Batch, Items]] = [
        (intake_events.leads_captured, [arrived(lead_id, aalto(label)) for lead_id, label in ids]),
        (
            intake_events.leads_updated,
            [updated(lead_id, aalto(label, answers=READY)) for lead_id, label in ids],
        ),
        (
            intake_events.leads_engaged,
            [engaged(lead_id, "demo", ActivityType.DEMO_REQUESTED) for lead_id, _ in ids],
        ),
    ]
    counts = []
    for handler, items in batches:
        async with uows.pool.acquire() as conn, conn.transaction():
            config = await cfg.ConfigStore().load(conn)  # loaded once per batch, not what is measured here
            counting = CountingConnection(conn)
            await handler(UnitOfWork(counting, Outbox(conn, "qualification")), config, items)
        counts.append(counting.statements)
    return counts[0], counts[1], counts[2]


async def test_a_batch_costs_the_same_few_statements_for_ten_leads_as_for_a_hundred(uows, assignment):
    few, many = await statements_for(uows, 10), await statements_for(uows, 100)
    assert few == many
    assert max(many) <= 5


async def test_a_batch_of_conversions_ends_as_converting_one_by_one(uows, assignment):
    leads, history, _, _, events = await both_ways(uows, CONVERSIONS)
    status = {lead["id"]: lead["status"] for lead in leads}
    assert {label for label, value in status.items() if value == "converted"} == {
        "ready",
        "engaged-before",
        "overridden",
        "known",
    }
    assert per_lead(events)["ready"] == ["lead.status_changed"]
    assert [h["to_status"] for h in history if h["lead_id"] == "ready"][-1] == "converted"


async def test_a_batch_converting_a_lead_it_does_not_know_is_rejected_whole(uows, assignment):
    ids = {label: uuid.uuid4() for label in PEOPLE}
    async with uows() as uow:
        await before_changes(uow, ids)
    with pytest.raises(Reject, match="unknown to qualification"):
        async with uows() as uow:
            await pipeline_events.leads_converted(
                uow, await current(uow), [converted(ids["ready"]), converted(ids["unknown"])]
            )
    async with uows.pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM leads WHERE id = $1", ids["ready"]) == "qualified"


@pytest.mark.parametrize("together", [False, True], ids=["one by one", "as a batch"])
async def test_new_facts_bring_a_left_behind_lead_back_while_a_persons_override_and_a_mere_touch_do_not(
    uows: UnitOfWorkFactory, assignment: Any, together: bool
) -> None:
    from leadflow_shared.contracts.events import DisqualificationReason

    first = {
        "nurtured": aalto("no-budget"),
        "archived": aalto("abroad"),
        "archived-touch-only": aalto("abroad"),
        # It qualifies on its own; a person then sends it to nurture.
        "overridden": aalto("ready"),
    }
    ids = {label: uuid.uuid4() for label in first}
    async with uows() as uow:
        for label, lead_id in ids.items():
            await intake_events.lead_captured(
                uow, await current(uow), *reversed(arrived(lead_id, first[label]))
            )
        await sales.disqualify(
            uow,
            await current(uow),
            ids["overridden"],
            sales.ManualDisqualify(actor="lars.sales", reason=DisqualificationReason.NO_BUDGET),
        )

    async def categories() -> dict[str, str]:
        async with uows.pool.acquire() as conn:
            return {
                label: await conn.fetchval("SELECT category FROM leads WHERE id = $1", lead_id)
                for label, lead_id in ids.items()
            }

    assert await categories() == {
        "nurtured": "nurturing",
        "archived": "archived",
        "archived-touch-only": "archived",
        "overridden": "nurturing",
    }
    ready = aalto("ready")

    def update(label: str, *changed: str) -> tuple[Envelope, Any]:
        new = ready if changed else first[label]
        return sent(LeadUpdated(lead_id=ids[label], profile=new, touch=TOUCH, changed=list(changed)))

    items = [
        update("nurtured", "answers.budget"),
        update("archived", "country"),
        update("archived-touch-only"),
        update("overridden", "answers.budget"),
    ]
    async with uows() as uow:
        if together:
            await intake_events.leads_updated(uow, await current(uow), items)
        else:
            for envelope, event in items:
                await intake_events.lead_updated(uow, await current(uow), event, envelope)
    assert await categories() == {
        "nurtured": "qualified",
        "archived": "qualified",
        "archived-touch-only": "archived",
        "overridden": "nurturing",
    }
    async with uows.pool.acquire() as conn:
        cause = await conn.fetchval(
            "SELECT cause FROM decisions WHERE lead_id = $1 ORDER BY id DESC LIMIT 1", ids["archived"]
        )
    assert cause == "updated: country"


def parked() -> float:
    return (
        REGISTRY.get_sample_value(
            "leadflow_events_parked_total", {"service": "qualification", "reason": "unknown_lead"}
        )
        or 0.0
    )


@pytest.mark.parametrize("together", [True, False], ids=["in a batch", "alone"])
async def test_an_engagement_before_its_leads_capture_is_kept_and_counted_as_parked(
    uows, assignment, together
):
    ids = {label: uuid.uuid4() for label in PEOPLE}
    items = [engaged(ids["unknown"], "email-1", ActivityType.EMAIL_CLICKED)]
    before = parked()
    async with uows() as uow:
        if together:
            await intake_events.leads_engaged(uow, await current(uow), items)
        else:
            await intake_events.lead_engaged(uow, await current(uow), *reversed(items[0]))
    assert parked() == before + 1
    async with uows.pool.acquire() as conn:
        kept = await conn.fetchval("SELECT count(*) FROM activities WHERE lead_id = $1", ids["unknown"])
    assert kept == 1
