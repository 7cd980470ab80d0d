"""Batch handlers on real Postgres: a group leaves what handling each in turn leaves, in a few statements."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
import pytest

from leadflow_devstack import builders
from leadflow_devstack.builders import captured, profile, sent, touch
from leadflow_nurture.adapters import leads
from leadflow_nurture.adapters.tracks import TrackStore
from leadflow_nurture.domain.matching import LeadContext
from leadflow_nurture.domain.tracks import DEFAULT_TRACKS, EntrySource, Track, TrackSet
from leadflow_nurture.entrypoints.consumers import subscriptions
from leadflow_nurture.use_cases import lifecycle
from leadflow_shared.consumer import Subscription
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import (
    DisqualificationReason,
    EventData,
    LeadConverted,
    LeadDisqualified,
    LeadStatusChanged,
    LeadUpdated,
)
from leadflow_shared.contracts.lead import LeadProfile
from leadflow_shared.uow import UnitOfWork, UnitOfWorkFactory

pytestmark = pytest.mark.service

Items = list[tuple[Envelope, EventData]]
Story = Callable[[dict[str, UUID]], Awaitable[Items]]
MOMENT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
PORTUGAL_DRIP = Track.model_validate(
    {
        "name": "portugal-drip",
        "entry": {"sources": ["nurturing"], "reasons": ["no_budget"], "countries": ["PT"]},
        "steps": [
            {"channel": "drip_email", "delay": "3d", "content_ref": "drip/business-case", "subject": "Olá"}
        ],
        "exit": {"engagement_threshold": 15, "grace": "14d"},
    }
)
# A track for Portuguese leads nurturing says lack budget, then the shipped ones without the fallback (so
# a lead with an unknown reason finds no track).
TRACKS = TrackSet(
    tracks=(PORTUGAL_DRIP, *(track for track in DEFAULT_TRACKS.tracks if track.name != "re-engage"))
)


def baker(name: str, **fields: Any) -> LeadProfile:
    """A Lisbon baker as intake knows them."""
    someone = {"first_name": name.title(), "last_name": "Bakery", "email": f"{name}@pastel-de-nata.example"}
    return profile(someone, company=f"{name.title()} Pastelaria", country="PT", **fields)


def status(
    lead_id: UUID,
    to: str,
    category: str,
    reason: str = "",
    code: str | None = None,
    came_from: str = "unqualified",
) -> LeadStatusChanged:
    return LeadStatusChanged(
        lead_id=lead_id,
        from_status=came_from,
        to_status=to,
        category=category,
        reason=reason or f"moved to {to}",
        actor="rule:criteria v1",
        reason_code=code,
    )


def disqualified(
    lead_id: UUID, reason: DisqualificationReason, nurturable: bool, name: str
) -> LeadDisqualified:
    seen = baker(name, job_title="as qualification saw it")
    return builders.disqualified(lead_id=lead_id, reason=reason, nurturable=nurturable, profile=seen)


def envelopes(*events: EventData) -> Items:
    return [sent(event, "upstream") for event in events]


class World:
    """Leads by name, with fresh ids per world, and what each world starts from."""

    def __init__(self, uows: UnitOfWorkFactory, store: TrackStore, names: list[str]) -> None:
        self.uows = uows
        self.store = store
        self.ids = {name: uuid.uuid4() for name in names}

    async def known(self, *names: str) -> None:
        """Intake told nurture about these leads."""
        async with self.uows() as uow:
            await leads.record_profiles(uow.conn, [(self.ids[name], baker(name)) for name in names])

    async def enrolled(self, *names: str) -> None:
        """These leads are on the budget drip already, their first touch due."""
        async with self.uows() as uow:
            for name in names:
                context = LeadContext(
                    source=EntrySource.DISQUALIFIED, reason=DisqualificationReason.NO_BUDGET
                )
                assert (
                    await lifecycle.enroll(
                        uow, await self.store.load(uow.conn), self.ids[name], context, None
                    )
                    is not None
                )

    async def won_back(self, *names: str) -> None:
        """These leads lost their deal and are on the win-back track."""
        async with self.uows() as uow:
            context = LeadContext(source=EntrySource.OPPORTUNITY_LOST, lost_reason="price")
            for name in names:
                tracks = await self.store.load(uow.conn)
                assert await lifecycle.enroll(uow, tracks, self.ids[name], context, None) is not None

    async def snapshot(self, sent: Items) -> dict[str, Any]:
        """Every row and event about the world's leads, with its ids and timestamps named or left out."""
        names = {lead_id: name for name, lead_id in self.ids.items()}
        causes = {str(envelope.id): names[data.lead_id] for envelope, data in sent}  # type: ignore[attr-defined]
        ids = list(names)
        pool = self.uows.pool
        lead_rows = await pool.fetch(
            "SELECT id, status, category, profile FROM leads WHERE id = ANY($1)", ids
        )
        enrollments = await pool.fetch(
            "SELECT id, lead_id, track, track_version, source, status, end_reason, ended_at IS NULL AS open,"
            " exhaust_at FROM enrollments WHERE lead_id = ANY($1) ORDER BY seq",
            ids,
        )
        enrollment_names = {row["id"]: f"{names[row['lead_id']]}#{n}" for n, row in enumerate(enrollments)}
        touches = await pool.fetch(
            "SELECT t.enrollment_id, t.step, t.channel, t.content_ref, t.status, t.done_at IS NULL AS open,"
            " t.due_at - e.started_at AS delay FROM touches t JOIN enrollments e ON e.id = t.enrollment_id"
            " WHERE t.lead_id = ANY($1) ORDER BY t.id",
            ids,
        )
        archives = await pool.fetch(
            "SELECT lead_id, reason, explanation, reversed_at FROM archives WHERE lead_id = ANY($1)", ids
        )
        events: dict[str, list[Any]] = {}
        for row in await pool.fetch("SELECT payload FROM outbox ORDER BY id"):
            event = orjson.loads(row["payload"])
            lead = names.get(UUID(event["data"].get("lead_id", str(uuid.UUID(int=0)))))
            if lead is None:
                continue
            data = {**event["data"], "lead_id": lead}
            if "enrollment_id" in data:
                data["enrollment_id"] = enrollment_names[UUID(data["enrollment_id"])]
            events.setdefault(lead, []).append(
                (event["type"], causes.get(event.get("causationid", "")), data)
            )
        return {
            "leads": sorted(
                (names[r["id"]], r["status"], r["category"], orjson.dumps(r["profile"])) for r in lead_rows
            ),
            "enrollments": sorted(
                (
                    enrollment_names[r["id"]],
                    r["track"],
                    r["track_version"],
                    r["source"],
                    r["status"],
                    r["end_reason"],
                    r["open"],
                    r["exhaust_at"],
                )
                for r in enrollments
            ),
            "touches": sorted(
                (
                    enrollment_names[r["enrollment_id"]],
                    r["step"],
                    r["channel"],
                    r["content_ref"],
                    r["status"],
                    r["open"],
                    r["delay"],
                )
                for r in touches
            ),
            "archives": sorted(
                (names[r["lead_id"]], r["reason"], r["explanation"], r["reversed_at"]) for r in archives
            ),
            "events": events,
        }


async def one_by_one(sub: Subscription, uow: UnitOfWork, items: Items) -> None:
    for envelope, data in items:
        await sub.handlers[envelope.type].handle(uow, [(envelope, data)])


async def in_groups(sub: Subscription, uow: UnitOfWork, items: Items) -> None:
    groups: dict[str, Items] = {}
    for envelope, data in items:
        groups.setdefault(envelope.type, []).append((envelope, data))
    for event_type, group in groups.items():
        await sub.handlers[event_type].handle(uow, list(group))


async def both_ways(
    uows: UnitOfWorkFactory, subscription: str, names: list[str], story: Callable[[World], Awaitable[Items]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same story in two fresh worlds: handled message by message, and by the batch handlers."""
    async with uows() as uow:
        await TrackStore().replace(uow.conn, TRACKS)
    snapshots = []
    for run in (one_by_one, in_groups):
        store = TrackStore()
        world = World(uows, store, names)
        items = await story(world)
        [sub] = [s for s in subscriptions(store) if s.name == subscription]
        async with uows() as uow:
            await run(sub, uow, items)
        snapshots.append(await world.snapshot(items))
    return snapshots[0], snapshots[1]


async def test_status_changes_in_one_group_leave_the_rows_and_events_that_handling_each_in_turn_leaves(
    uows: UnitOfWorkFactory,
) -> None:
    names = ["ines", "otto", "grace", "linus", "ada", "mira", "kofi"]

    async def story(world: World) -> Items:
        await world.known("ines", "grace")
        await world.enrolled("grace", "linus", "kofi")
        ids = world.ids
        return envelopes(
            status(ids["ines"], "nurturing", "nurturing", code="no_budget"),
            status(ids["otto"], "nurturing", "nurturing", reason="No_Need"),
            status(ids["grace"], "qualified", "qualified"),
            status(ids["linus"], "closed_deal", "converted"),
            status(ids["ada"], "contacted", "contacted"),
            status(ids["mira"], "nurturing", "nurturing", reason="seasonal pause"),
            status(ids["kofi"], "nurturing", "nurturing", code="no_budget"),
        )

    single, batched = await both_ways(uows, "qualification", names, story)

    assert batched == single
    assert [e[0] for e in single["events"]["ines"]] == ["nurture.enrolled"]
    assert single["events"]["ines"][0][1] == "ines"
    tracks = {e[0].split("#")[0]: e[1] for e in single["enrollments"]}
    assert (tracks["ines"], tracks["otto"], tracks["kofi"]) == ("portugal-drip", "newsletter", "budget-drip")
    assert (
        "grace#0",
        "budget-drip",
        1,
        "disqualified",
        "converted",
        "lead is qualified",
        False,
        None,
    ) in single["enrollments"]
    assert [t[4] for t in single["touches"] if t[0].startswith("grace")] == ["cancelled"]
    assert [a[:2] for a in single["archives"]] == [("mira", "no_matching_track")]
    assert ("ada", "contacted", "contacted", b"null") in single["leads"]


async def test_disqualifications_in_one_group_archive_fill_and_enroll_as_each_in_turn_would(
    uows: UnitOfWorkFactory,
) -> None:
    names = ["bruno", "chen", "dana", "eva", "femi"]

    async def story(world: World) -> Items:
        await world.known("eva")
        await world.enrolled("femi")
        ids = world.ids
        return envelopes(
            disqualified(ids["bruno"], DisqualificationReason.NOT_ICP, True, "bruno"),
            disqualified(ids["chen"], DisqualificationReason.NO_AUTHORITY, True, "chen"),
            disqualified(ids["dana"], DisqualificationReason.NO_NEED, False, "dana"),
            disqualified(ids["eva"], DisqualificationReason.NO_BUDGET, True, "eva"),
            disqualified(ids["femi"], DisqualificationReason.NO_BUDGET, True, "femi"),
        )

    single, batched = await both_ways(uows, "qualification", names, story)

    assert batched == single
    assert [a[:2] for a in single["archives"]] == [("bruno", "not_icp"), ("dana", "no_need")]
    assert sorted(e[0] for e in single["enrollments"]) == ["chen#1", "eva#2", "femi#0"]
    profiles = {lead[0]: orjson.loads(lead[3]) for lead in single["leads"]}
    assert profiles["eva"]["job_title"] is None
    assert profiles["chen"]["job_title"] == "as qualification saw it"


async def test_profiles_and_conversions_in_groups_leave_what_each_in_turn_leaves(
    uows: UnitOfWorkFactory,
) -> None:
    visit = touch(occurred_at=MOMENT)

    async def profiles(world: World) -> Items:
        await world.known("hana")
        ids = world.ids
        return envelopes(
            captured(baker("gus"), lead_id=ids["gus"], touch=visit),
            LeadUpdated(lead_id=ids["hana"], profile=baker("hana", job_title="head baker"), touch=visit),
            captured(baker("noor"), lead_id=ids["noor"], touch=visit),
        )

    single, batched = await both_ways(uows, "intake", ["gus", "hana", "noor"], profiles)
    assert batched == single
    assert len(single["leads"]) == 3

    async def conversions(world: World) -> Items:
        await world.enrolled("ivan")
        ids = world.ids
        return envelopes(
            *(
                LeadConverted(lead_id=ids[n], account_id=uuid.uuid4(), contact_id=uuid.uuid4())
                for n in ("ivan", "jo")
            )
        )

    single, batched = await both_ways(uows, "opportunity", ["ivan", "jo"], conversions)
    assert batched == single
    assert [e[4:6] for e in single["enrollments"]] == [("converted", "lead converted")]


async def test_a_lead_twice_in_a_group_keeps_the_order_of_its_events(uows: UnitOfWorkFactory) -> None:
    async def story(world: World) -> Items:
        ids = world.ids
        return envelopes(
            status(ids["ines"], "nurturing", "nurturing", code="no_budget"),
            status(ids["otto"], "contacted", "contacted"),
            status(ids["ines"], "qualified", "qualified"),
        )

    single, batched = await both_ways(uows, "qualification", ["ines", "otto"], story)

    assert batched == single
    assert [e[4:6] for e in single["enrollments"]] == [("converted", "lead is qualified")]


async def test_a_status_change_from_before_a_lost_deal_leaves_its_win_back_running_and_a_later_one_ends_it(
    uows: UnitOfWorkFactory,
) -> None:
    # Qualification's topic may run behind opportunity's: its news of the conversion that came before the
    # loss can reach nurture after the loss put the lead on win-back.
    async def story(world: World) -> Items:
        await world.known("sana", "tomas")
        await world.won_back("sana", "tomas")
        ids = world.ids
        return envelopes(
            status(ids["sana"], "qualified", "qualified", came_from="nurturing"),
            status(ids["sana"], "converted", "converted", came_from="qualified"),
            status(ids["tomas"], "qualified", "qualified", came_from="converted"),
        )

    single, batched = await both_ways(uows, "qualification", ["sana", "tomas"], story)

    assert batched == single
    ends = {e[0].split("#")[0]: (e[1], e[4], e[5]) for e in single["enrollments"]}
    assert ends == {
        "sana": ("win-back", "active", None),
        "tomas": ("win-back", "converted", "lead is qualified"),
    }


async def test_a_group_costs_the_same_few_statements_whatever_its_size(uows: UnitOfWorkFactory) -> None:
    async with uows() as uow:
        await TrackStore().replace(uow.conn, TRACKS)
    store = TrackStore()
    [sub] = [s for s in subscriptions(store) if s.name == "qualification"]

    async def statements(size: int) -> int:
        world = World(uows, store, [f"lead{n}" for n in range(size)])
        await world.known(*world.ids)
        await world.enrolled(*list(world.ids)[: size // 3])
        items = envelopes(
            *(
                status(lead_id, "qualified", "qualified")
                if n < size // 3
                else status(lead_id, "nurturing", "nurturing", code="no_authority")
                for n, lead_id in enumerate(world.ids.values())
            ),
            *(
                disqualified(lead_id, DisqualificationReason.NO_BUDGET, True, "x")
                for lead_id in world.ids.values()
            ),
        )
        seen: list[str] = []
        async with uows() as uow:
            uow.conn.add_query_logger(lambda query: seen.append(query.query))
            await in_groups(sub, uow, items)
        return len(seen)

    await statements(3)  # The first use of a statement on a connection may look its types up.
    assert await statements(3) == await statements(30)
    assert await statements(30) <= 12
