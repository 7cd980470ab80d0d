"""Nurture's requalification requests and exhausted tracks handled in groups end where one by one ends."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from leadflow_devstack.builders import captured, profile, sent, touch
from leadflow_qualification.use_cases import config as cfg
from leadflow_qualification.use_cases import intake_events, pipeline_events, sales
from leadflow_shared.consumer import Reject
from leadflow_shared.contracts.envelope import Envelope, new_event
from leadflow_shared.contracts.events import (
    DisqualificationReason,
    ExhaustedNext,
    LeadConverted,
    LeadMerged,
    LeadRequalificationRequested,
    NurtureExhausted,
)
from leadflow_shared.contracts.lead import Channel, LeadProfile, QualifyingAnswers, TriggerKind
from leadflow_shared.uow import UnitOfWork, UnitOfWorkFactory

from .conftest import current

pytestmark = pytest.mark.service

Ids = dict[str, uuid.UUID]
Items = list[tuple[Envelope, Any]]

READY = QualifyingAnswers(
    need="Dispatch still runs on whiteboards", authority="I have the final say", budget="€45k", timeline="Q2"
)
# The people of every run and what their answers make of them when captured.
ANSWERS: dict[str, QualifyingAnswers] = {
    "ready": READY,
    "browsing": READY.model_copy(update={"need": "just browsing"}),
    "no-budget": READY.model_copy(update={"budget": "no budget"}),
    "silent": QualifyingAnswers(),
    "held-back": READY,
    "archived-by-hand": READY,
    "vouched-for": QualifyingAnswers(),
    "converted": READY,
    "twice": READY,
    "merged-away": READY,
    "unknown": READY,
}


# The Kowalczyks of Wisla Spedycja, a logistics firm; each one's answers are in ANSWERS.
WISLA: dict[str, Any] = {
    "last_name": "Kowalczyk",
    "company": "Wisla Spedycja",
    "seniority": "director",
    "country": "DE",
    "industry": "Logistics",
    "company_size": 140,
}


def person(label: str) -> LeadProfile:
    """The Kowalczyk of one label, at the label's address."""
    someone = {"first_name": label.title().replace("-", ""), "email": f"{label}@wisla-spedycja.example"}
    return profile(WISLA, someone, answers=ANSWERS[label])


async def people(uow: UnitOfWork, ids: Ids) -> None:
    """Everybody but `unknown` is captured; some are then decided by hand, converted or merged away."""
    scanned = touch(channel=Channel.TRADE_SHOW, source_system="badge_scanner")
    for label, lead_id in ids.items():
        if label != "unknown":
            envelope, event = sent(captured(person(label), lead_id=lead_id, touch=scanned))
            await intake_events.lead_captured(uow, await current(uow), event, envelope)
    for label, nurturable in (("held-back", True), ("archived-by-hand", False), ("twice", True)):
        why = sales.ManualDisqualify(
            actor="ewa.sales", reason=DisqualificationReason.NO_BUDGET, nurturable=nurturable
        )
        await sales.disqualify(uow, await current(uow), ids[label], why)
    await sales.qualify(
        uow,
        await current(uow),
        ids["vouched-for"],
        sales.ManualQualify(actor="ewa.sales", reason="met at a fair"),
    )
    converted = LeadConverted(lead_id=ids["converted"], account_id=uuid.uuid4(), contact_id=uuid.uuid4())
    await pipeline_events.lead_converted(
        uow, await current(uow), converted, new_event(converted, source="opportunity")
    )
    merged = LeadMerged(lead_id=ids["ready"], merged_id=ids["merged-away"], profile=person("ready"))
    await intake_events.lead_merged(uow, await current(uow), merged, new_event(merged, source="intake"))


def requested(ids: Ids, *labels: str) -> Items:
    return [
        sent(
            LeadRequalificationRequested(
                lead_id=ids[label], reason="budget approved", trigger=TriggerKind.BUDGET_APPROVED
            ),
            "nurture",
        )
        for label in labels
    ]


def requests(ids: Ids) -> Items:
    """A request for every kind of lead, twice for one of them."""
    labels = ("held-back", "archived-by-hand", "vouched-for", "converted", "browsing", "no-budget", "silent")
    return requested(ids, *labels, "twice", "ready", "twice")


def exhausted(ids: Ids, label: str, then: ExhaustedNext = ExhaustedNext.ARCHIVE) -> tuple[Envelope, Any]:
    event = NurtureExhausted(
        lead_id=ids[label], track="budget-drip", enrollment_id=uuid.uuid4(), next=then, next_track=None
    )
    return sent(event, "nurture")


def exhaustions(ids: Ids) -> Items:
    """Tracks of nurtured, qualified and converted leads end; one moves on, one ends twice."""
    return [
        exhausted(ids, "browsing"),
        exhausted(ids, "no-budget", ExhaustedNext.MOVE),
        exhausted(ids, "held-back"),
        exhausted(ids, "ready"),
        exhausted(ids, "converted"),
        exhausted(ids, "twice"),
        exhausted(ids, "twice"),
    ]


Together = Callable[[UnitOfWork, cfg.Config, Items], Awaitable[None]]
OneByOne = Callable[[UnitOfWork, cfg.Config, Any, Envelope], Awaitable[None]]


async def handled(
    uows: UnitOfWorkFactory,
    batch_of: Callable[[Ids], Items],
    handlers: tuple[Together, OneByOne],
    *,
    together: bool,
) -> list[Any]:
    """Fresh people, their batch handled in one transaction; what it left (rows, events), named by label."""
    ids = {label: uuid.uuid4() for label in ANSWERS}
    async with uows() as uow:
        await people(uow, ids)
    async with uows.pool.acquire() as conn:
        before = await conn.fetchrow(
            "SELECT (SELECT coalesce(max(id), 0) FROM outbox) AS events,"
            " (SELECT coalesce(max(id), 0) FROM status_history) AS history,"
            " (SELECT coalesce(max(id), 0) FROM decisions) AS decisions"
        )
    items = batch_of(ids)
    async with uows() as uow:
        if together:
            await handlers[0](uow, await current(uow), items)
        else:
            for envelope, event in items:
                await handlers[1](uow, await current(uow), event, envelope)
    names = {str(lead_id): label for label, lead_id in ids.items()}
    names.update({str(envelope.id): f"request {n}" for n, (envelope, _) in enumerate(items)})

    def labelled(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: labelled(v) for key, v in value.items() if key != "evaluated_at"}
        if isinstance(value, list):
            return [labelled(v) for v in value]
        return names.get(str(value), value) if isinstance(value, uuid.UUID | str) else value

    async with uows.pool.acquire() as conn:
        leads = await conn.fetch(
            "SELECT id AS lead_id, status, category, owner, fit_score, engagement_score, criteria_version,"
            " decision, manual_override, disqualification_reason, stale, merged_into FROM leads"
            " WHERE id = ANY($1::uuid[])",
            list(ids.values()),
        )
        history = await conn.fetch(
            "SELECT lead_id, from_status, to_status, category, reason, reason_code, actor FROM status_history"
            " WHERE id > $1 ORDER BY id",
            before["history"],
        )
        decisions = await conn.fetch(
            "SELECT lead_id, criteria_version, outcome, reason, fit_score, engagement_score, cause, body"
            " FROM decisions WHERE id > $1 ORDER BY id",
            before["decisions"],
        )
        outbox = await conn.fetch(
            "SELECT key, payload FROM outbox WHERE id > $1 ORDER BY id", before["events"]
        )
        await conn.execute("UPDATE outbox SET published_at = now() WHERE id > $1", before["events"])
    # Each lead's rows in the order they were written; leads one after the other, by label.
    rows = [
        sorted((labelled(dict(r)) for r in found), key=lambda r: r["lead_id"])
        for found in (leads, history, decisions)
    ]
    events = [orjson.loads(row["payload"]) for row in outbox]
    return [*rows, [labelled([e["subject"], e["type"], e["causationid"], e["data"]]) for e in events]]


REQUESTS = (requests, (pipeline_events.requalifications_requested, pipeline_events.requalification_requested))
EXHAUSTIONS = (exhaustions, (pipeline_events.nurtures_exhausted, pipeline_events.nurture_exhausted))


async def both_ways(uows: UnitOfWorkFactory, scenario: Any) -> list[Any]:
    """The scenario's batch handled together, then one by one for fresh people: both must leave the same."""
    together = await handled(uows, *scenario, together=True)
    assert together == await handled(uows, *scenario, together=False)
    return together


async def test_requalification_requests_handled_together_end_as_one_by_one(uows):
    leads, history, decisions, events = await both_ways(uows, REQUESTS)
    status = {lead["lead_id"]: (lead["status"], lead["manual_override"]) for lead in leads}
    assert status["held-back"] == ("qualified", False)
    assert status["archived-by-hand"] == ("qualified", False)
    assert status["vouched-for"] == ("qualified", False)
    assert status["converted"] == ("converted", False)
    assert status["browsing"] == ("nurturing", False)
    assert [h["to_status"] for h in history if h["lead_id"] == "archived-by-hand"] == ["open", "qualified"]
    assert [d["cause"] for d in decisions if d["lead_id"] == "twice"] == [
        "requalification requested: budget approved (budget_approved)"
    ] * 2
    assert "converted" not in {d["lead_id"] for d in decisions}
    assert [kind for key, kind, _, _ in events if key == "held-back"] == [
        "lead.status_changed",
        "lead.qualified",
    ]


async def test_exhausted_tracks_handled_together_end_as_one_by_one(uows):
    leads, history, _, events = await both_ways(uows, EXHAUSTIONS)
    status = {lead["lead_id"]: lead["status"] for lead in leads}
    assert status["browsing"] == status["held-back"] == status["twice"] == "archived"
    assert status["no-budget"] == "nurturing"
    assert status["ready"] == "qualified"
    assert [h["reason"] for h in history if h["lead_id"] == "twice"] == [
        "nurture track budget-drip exhausted"
    ]
    assert {key for key, _, _, _ in events} == {"browsing", "held-back", "twice"}


@pytest.mark.parametrize("label", ["unknown", "merged-away"])
async def test_a_group_of_requests_naming_a_lead_qualification_cannot_judge_is_rejected_whole(uows, label):
    ids = {name: uuid.uuid4() for name in ANSWERS}
    async with uows() as uow:
        await people(uow, ids)
    with pytest.raises(Reject, match="unknown to qualification"):
        async with uows() as uow:
            await pipeline_events.requalifications_requested(
                uow, await current(uow), requested(ids, "held-back", label)
            )
    async with uows.pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM leads WHERE id = $1", ids["held-back"]) == "nurturing"


async def test_an_exhausted_track_of_a_lead_qualification_never_captured_is_rejected_as_unknown_lead(uows):
    ids = {name: uuid.uuid4() for name in ANSWERS}
    async with uows() as uow:
        await people(uow, ids)
    with pytest.raises(Reject, match="unknown to qualification") as together:
        async with uows() as uow:
            await pipeline_events.nurtures_exhausted(
                uow, await current(uow), [exhausted(ids, "held-back"), exhausted(ids, "unknown")]
            )
    envelope, event = exhausted(ids, "unknown")
    with pytest.raises(Reject, match="unknown to qualification") as alone:
        async with uows() as uow:
            await pipeline_events.nurture_exhausted(uow, await current(uow), event, envelope)
    assert together.value.kind == alone.value.kind == "unknown_lead"
    async with uows.pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM leads WHERE id = $1", ids["held-back"]) == "nurturing"
