"""The fault tier's workload, its in-flight probe, and checks that show a lost or repeated effect."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from leadflow_devstack.testing import (
    SERVICES,
    Db,
    ServiceProcess,
    TestStack,
    produce,
    read_topic,
    wait_until,
)
from leadflow_shared.contracts import topics
from leadflow_shared.contracts.envelope import encode, new_event
from leadflow_shared.contracts.events import LeadSubmitted
from leadflow_shared.contracts.lead import LeadSubmission
from leadflow_shared.outbox import OutboxRelay

READY = {
    "need": "Our dispatchers retype every order from email into the ERP",
    "authority": "I am the decision maker",
    "budget": "EUR 80,000",
    "timeline": "within 3 months",
}

NO_NEED = {**READY, "need": "just browsing, no need"}
NO_AUTHORITY = {**READY, "authority": "I'm an end user"}

# outcome: (what changes from a ready lead, the final status, the disqualification reason, nurture track)
OUTCOMES: dict[str, tuple[dict[str, Any], tuple[str, ...], str | None, str | None]] = {
    "opportunity": ({}, ("converted",), None, None),
    "converted_only": ({"answers": {**READY, "timeline": "next year"}}, ("converted",), None, None),
    "no_need": ({"answers": NO_NEED}, ("nurturing",), "no_need", "newsletter"),
    "no_authority": ({"answers": NO_AUTHORITY}, ("nurturing",), "no_authority", "webinar"),
    "no_budget": ({"answers": {**READY, "budget": "no budget"}}, ("nurturing",), "no_budget", "budget-drip"),
    "not_icp": ({"country": "BR"}, ("archived",), "not_icp", None),
    # No answers: qualification leaves the lead open; a salesperson contacts it, it never answers.
    "unresponsive": ({"answers": {}}, ("nurturing",), "unresponsive", "check-in"),
    "invalid": ({}, ("archived",), "invalid", None),
}  # fmt: skip


def _track(name: str, entry: dict[str, Any], content_ref: str) -> dict[str, Any]:
    # The first touch is due at once, the second only in an hour: one email per enrolment within a test.
    return {
        "name": name,
        "entry": entry,
        "steps": [
            {
                "channel": "drip_email",
                "delay": "0s",
                "content_ref": content_ref,
                "subject": f"{name}: $company",
            },
            {"channel": "drip_email", "delay": "1h", "content_ref": content_ref, "subject": f"{name}: later"},
        ],
        "exit": {"engagement_threshold": 50, "grace": "1d"},
    }


NURTURABLE = ["disqualified", "nurturing"]
FAST_TRACKS = {
    "tracks": [
        _track("newsletter", {"sources": NURTURABLE, "reasons": ["no_need"]}, "drip/business-case"),
        _track("webinar", {"sources": NURTURABLE, "reasons": ["no_authority"]}, "webinar/recording"),
        _track("budget-drip", {"sources": NURTURABLE, "reasons": ["no_budget"]}, "drip/business-case"),
        _track("win-back", {"sources": ["opportunity_lost"]}, "win-back/whats-new"),
        _track("check-in", {"sources": NURTURABLE, "reasons": ["unresponsive"]}, "drip/business-case"),
    ]
}  # fmt: skip


@dataclass
class Lead:
    """One submitted person and the outcome built into their answers."""

    email: str
    outcome: str
    company: str


def workload(count: int, tag: str) -> tuple[list[Lead], list[tuple[bytes | None, bytes]]]:
    """`count` people cycling through every outcome, as leads.submitted messages."""
    leads: list[Lead] = []
    messages: list[tuple[bytes | None, bytes]] = []
    names = list(OUTCOMES)
    for n in range(count):
        outcome = names[n % len(names)]
        domain = "mailinator.com" if outcome == "invalid" else f"fjord-{tag}-{n}.example"
        body: dict[str, Any] = {
            "first_name": "Ingrid",
            # Name and company differ per lead and per run: intake would merge the same person seen twice.
            "last_name": f"Solberg {tag} {n}",
            "email": f"ingrid.{tag}.{n}@{domain}",
            "company": f"Fjord Freight {tag} {n} AS",
            "website": f"https://www.{domain}",
            "job_title": "VP of Operations",
            "country": "DE",
            "industry": "Logistics",
            "company_size": 350,
            "answers": READY,
            "channel": "web_form",
            "source_system": "website",
            "source_id": f"form-{tag}-{n}",
        }
        body.update(OUTCOMES[outcome][0])
        leads.append(Lead(body["email"], outcome, body["company"]))
        envelope = new_event(LeadSubmitted(submission=LeadSubmission.model_validate(body)), source="upstream")
        messages.append((envelope.key(), encode(envelope)))
    return leads, messages


class Inbox:
    """What the fault tier's SMTP sink received, raw."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook: keep the message."""
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def auth(stack: TestStack, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.tokens[scope]}"}


# A contacted lead is unresponsive after about a second (the sweep runs every second in this tier).
QUICK_STALENESS = {
    "limits": {
        "open": {"stale_after_hours": 24},
        "contacted": {"stale_after_hours": 0.0001, "unresponsive_after_hours": 0.0003},
    }
}


async def use_quick_staleness(stack: TestStack, qualification: ServiceProcess) -> None:
    """Staleness limits under which a contacted lead turns unresponsive within a sweep or two."""
    async with httpx.AsyncClient(base_url=qualification.url, timeout=30) as client:
        stored = await client.put("/v1/staleness", json=QUICK_STALENESS, headers=auth(stack, "admin"))
    assert stored.status_code == 200, stored.text


async def contact_the_silent(
    stack: TestStack, qualification_url: str, leads: list[Lead], ids: dict[str, str]
) -> None:
    """Mark the leads meant to go unresponsive as contacted, once qualification has them (open)."""
    waiting = [lead for lead in leads if lead.outcome == "unresponsive" and lead.email not in _CONTACTED]
    if not waiting:
        return
    try:
        async with httpx.AsyncClient(base_url=qualification_url, timeout=10) as client:
            for lead in waiting:
                lead_id = ids.get(lead.email)
                if lead_id is None:
                    continue
                answer = await client.post(
                    f"/v1/leads/{lead_id}/contacted",
                    json={"actor": "sdr@fjord.example", "note": "left a voicemail"},
                    headers=auth(stack, "write"),
                )
                # 404: not judged yet, try again; 409: a repeat after a lost answer, already moved on.
                if answer.status_code in (200, 409):
                    _CONTACTED.add(lead.email)
    except httpx.HTTPError:
        return  # qualification is down (a fault): the next round tries again


_CONTACTED: set[str] = set()


async def use_fast_tracks(stack: TestStack, nurture: ServiceProcess) -> None:
    """Tracks whose first email is due at enrolment."""
    async with httpx.AsyncClient(base_url=nurture.url, timeout=30) as client:
        stored = await client.put("/v1/tracks", json=FAST_TRACKS, headers=auth(stack, "admin"))
    assert stored.status_code == 200, stored.text


@dataclass
class InFlight:
    """Work not finished at one moment: unpublished outbox rows per service, consumer lag per group."""

    outbox: dict[str, int] = field(default_factory=dict)
    lag: dict[str, int] = field(default_factory=dict)

    def of(self, service: str) -> int:
        """The work waiting on one service: its outbox and its consumer groups' lag."""
        groups = sum(n for group, n in self.lag.items() if group.split(".")[-2] == service)
        return self.outbox.get(service, 0) + groups

    @property
    def total(self) -> int:
        """All work waiting anywhere."""
        return sum(self.outbox.values()) + sum(self.lag.values())


class Probe:
    """Looks at unfinished work often and cheaply: connections kept open, and opened again after a crash."""

    def __init__(self, stack: TestStack) -> None:
        self.stack = stack
        self.conns: dict[str, asyncpg.Connection[Any]] = {}
        self.admin: AIOKafkaAdminClient | None = None
        self.consumer: AIOKafkaConsumer | None = None

    async def _conn(self, service: str) -> asyncpg.Connection[Any]:
        """The probe's connection as the service's role, opened again if it was lost."""
        if service not in self.conns or self.conns[service].is_closed():
            self.conns[service] = await asyncpg.connect(Db(self.stack, service).dsn, timeout=5)
        return self.conns[service]

    async def outbox(self, service: str) -> int:
        """Unpublished outbox rows of one service."""
        try:
            query = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            return int(await (await self._conn(service)).fetchval(query, timeout=5))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            await self._drop(service)
            return 0

    async def clock(self, service: str) -> datetime:
        """The database's time now, to compare with the times it records."""
        now: datetime = await (await self._conn(service)).fetchval("SELECT clock_timestamp()", timeout=5)
        return now

    async def relay_waiting_on_kafka(self, service: str, since: datetime) -> bool:
        """Whether the service's outbox relay is in a round begun after `since` that read waiting rows and has
        waited a tenth of a second at least for Kafka to take them: it holds the relay's lock and sits idle in
        its transaction after the read."""
        query = """
            SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND a.usename = current_user
              AND a.xact_start > $2 AND a.state = 'idle in transaction'
              AND a.state_change < clock_timestamp() - interval '100 milliseconds'
              AND a.query LIKE 'SELECT id, topic, key, payload%'
        """
        try:
            conn = await self._conn(service)
            return bool(await conn.fetchval(query, OutboxRelay.LOCK_CLASS, since, timeout=5))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            await self._drop(service)
            return False

    async def _drop(self, service: str) -> None:
        conn = self.conns.pop(service, None)
        if conn is not None:
            conn.terminate()

    async def lag(self, service: str | None = None) -> dict[str, int]:
        """Messages each of the run's consumer groups has not committed yet."""
        try:
            if self.admin is None or self.consumer is None:
                self.admin = AIOKafkaAdminClient(
                    bootstrap_servers=self.stack.bootstrap, request_timeout_ms=5000
                )
                self.consumer = AIOKafkaConsumer(
                    bootstrap_servers=self.stack.bootstrap, group_id=None, request_timeout_ms=5000
                )
                await self.admin.start()
                await self.consumer.start()
            groups = [g[0] for g in await self.admin.list_consumer_groups()]
            lag: dict[str, int] = {}
            prefix = self.stack.topic_prefix + (f"{service}." if service else "")
            for group in (g for g in groups if g.startswith(prefix)):
                # A group's own committed partitions: a group consumes some of its service's topics only.
                committed = await self.admin.list_consumer_group_offsets(group)
                ends = await self.consumer.end_offsets(list(committed))
                lag[group] = sum(max(0, end - committed[tp].offset) for tp, end in ends.items())
            return lag
        except Exception:
            await self._close_kafka()
            return {}

    async def _close_kafka(self) -> None:
        admin, consumer, self.admin, self.consumer = self.admin, self.consumer, None, None
        for client in (consumer, admin):
            if client is not None:
                with contextlib.suppress(Exception):
                    await (client.stop() if isinstance(client, AIOKafkaConsumer) else client.close())

    async def now(self, service: str | None = None) -> InFlight:
        """Unfinished work right now, of one service or of all."""
        names = [service] if service else list(SERVICES)
        return InFlight({name: await self.outbox(name) for name in names}, await self.lag(service))

    async def close(self) -> None:
        """Close what it holds."""
        for service in list(self.conns):
            await self._drop(service)
        await self._close_kafka()


# How long a probe sees nothing in flight before it feeds the service more work.
MORE_AFTER_S = 5.0


async def fault_while_in_flight(
    probe: Probe,
    fault: Callable[[], Awaitable[None]],
    service: str | None = None,
    within: float = 90,
    more: Callable[[], Awaitable[None]] | None = None,
) -> InFlight:
    """Wait until work is in flight (of one service, or anywhere), then inflict the fault; return what was.

    With `more`, a service that finished its work between two probes is given more every few seconds.
    """
    last = InFlight()
    deadline = time.monotonic() + within
    fed = time.monotonic()
    while time.monotonic() < deadline:
        last = await probe.now(service)
        if (last.of(service) if service else last.total) > 0:
            await fault()
            return last
        if more is not None and time.monotonic() - fed > MORE_AFTER_S:
            await more()
            fed = time.monotonic()
        await asyncio.sleep(0.02)
    raise AssertionError(f"no work of {service or 'any service'} seen in flight within {within} s: {last}")


@dataclass
class Findings:
    """What the topics, the SMTP sink and the status history show once everything settled."""

    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    emails: int = 0
    email_redeliveries: int = 0

    def line(self, label: str, seen: InFlight | None) -> str:
        """One summary line for the report."""
        flight = f"in flight {seen.total} (outbox {seen.outbox}, lag {seen.lag})" if seen else ""
        return (
            f"{label}: {flight} lost {len(self.lost)}, duplicated {len(self.duplicated)},"
            f" emails {self.emails} (resent with the same Message-ID: {self.email_redeliveries})"
        )


def _event_key(event: dict[str, Any]) -> tuple[str, ...]:
    data = event.get("data") or {}
    kind = str(event["type"])
    if kind == "lead.status_changed":
        return (kind, str(data.get("from_status")), str(data.get("to_status")))
    if kind in ("nurture.touch_sent", "nurture.enrolled"):
        return (kind, str(data.get("content_ref") or data.get("track")), str(data.get("step", "")))
    if kind.startswith("opportunity."):
        return (kind, str(data.get("to_stage", "")))
    return (kind,)


async def events_by_lead(stack: TestStack) -> dict[str, dict[tuple[str, ...], set[str]]]:
    """Every event on the four services' topics: per lead, per (type, discriminator), the distinct ids."""
    found: dict[str, dict[tuple[str, ...], set[str]]] = defaultdict(lambda: defaultdict(set))
    for topic in (
        topics.INTAKE_EVENTS,
        topics.QUALIFICATION_EVENTS,
        topics.OPPORTUNITY_EVENTS,
        topics.NURTURE_EVENTS,
    ):
        for record in await read_topic(stack, topic, within=4.0):
            event = orjson.loads(record.value)
            lead = str(event.get("subject") or (event.get("data") or {}).get("lead_id"))
            found[lead][_event_key(event)].add(str(event["id"]))
    return found


def expected_keys(outcome: str, lost_deal: bool) -> list[tuple[str, ...]]:
    """The events a lead of this outcome must have caused."""
    _, statuses, reason, track = OUTCOMES[outcome]
    keys: list[tuple[str, ...]] = [("lead.captured",), ("lead.status_changed", "None", "open")]
    if reason is None:
        keys += [("lead.qualified",), ("lead.converted",)]
    elif reason == "unresponsive":
        keys += [
            ("lead.disqualified",),
            ("lead.status_changed", "open", "contacted"),
            ("lead.status_changed", "contacted", statuses[0]),
        ]
    else:
        keys += [("lead.disqualified",), ("lead.status_changed", "open", statuses[0])]
    if outcome == "opportunity":
        keys.append(("opportunity.opened", ""))
    if track:
        keys.append(("nurture.enrolled", track, ""))
    if lost_deal:
        keys += [("opportunity.lost", ""), ("nurture.enrolled", "win-back", "")]
    return keys


async def lead_ids(stack: TestStack, leads: list[Lead]) -> dict[str, str]:
    """Intake's lead id per email."""
    rows = await Db(stack, "intake").fetch(
        "SELECT email, id FROM leads WHERE email = ANY($1::text[])", [lead.email for lead in leads]
    )
    return {row["email"]: str(row["id"]) for row in rows}


async def settled(
    stack: TestStack,
    probe: Probe,
    leads: list[Lead],
    inbox: Inbox,
    lost_deals: set[str],
    qualification_url: str,
    within: float = 240,
) -> Findings:
    """Wait until every lead reached its outcome everywhere (or time runs out), contacting the leads meant
    to go unresponsive on the way, then count what is missing and what happened more than once."""

    async def done() -> bool:
        ids = await lead_ids(stack, leads)
        await contact_the_silent(stack, qualification_url, leads, ids)
        if len(ids) < len(leads):
            return False
        seen = await probe.now()
        mailed = len({m["Message-ID"] for m in inbox.messages})
        return seen.total == 0 and mailed >= emails_expected(leads, lost_deals)

    with contextlib.suppress(AssertionError):  # the counts below say what is missing
        await wait_until(done, within=within, every=1.0)
    # A redelivery after the last fault would show up as a late duplicate: look once more after a pause.
    await asyncio.sleep(1.0)
    return await findings(stack, leads, inbox, lost_deals)


def emails_expected(leads: list[Lead], lost_deals: set[str]) -> int:
    return sum(1 for lead in leads if OUTCOMES[lead.outcome][3]) + len(lost_deals)


async def findings(stack: TestStack, leads: list[Lead], inbox: Inbox, lost_deals: set[str]) -> Findings:
    """Lost and duplicated effects: per lead on every topic, in the status history, at the SMTP sink."""
    found = Findings()
    ids = await lead_ids(stack, leads)
    events = await events_by_lead(stack)
    for lead in leads:
        lead_id = ids.get(lead.email)
        if lead_id is None:
            found.lost.append(f"{lead.email}: never captured")
            continue
        mine = events.get(lead_id, {})
        for key in expected_keys(lead.outcome, lead.email in lost_deals):
            if not mine.get(key):
                found.lost.append(f"{lead.email} ({lead.outcome}): no {key}")
        for key, event_ids in mine.items():
            if len(event_ids) > 1:
                found.duplicated.append(f"{lead.email}: {key} x{len(event_ids)}")
        if lead.outcome == "converted_only" and mine.get(("opportunity.opened", "")):
            found.duplicated.append(f"{lead.email}: an opportunity its criteria do not allow")
    history = await Db(stack, "qualification").fetch(
        "SELECT lead_id, from_status, to_status, count(*) AS n FROM status_history"
        " GROUP BY lead_id, from_status, to_status HAVING count(*) > 1"
    )
    found.duplicated += [
        f"status history {r['lead_id']} {r['from_status']}->{r['to_status']} x{r['n']}" for r in history
    ]
    per_template: dict[tuple[str, str], set[str]] = defaultdict(set)
    deliveries = Counter[str]()
    for message in inbox.messages:
        per_template[(str(message["To"]), str(message["Subject"]))].add(str(message["Message-ID"]))
        deliveries[str(message["Message-ID"])] += 1
    found.emails = len(deliveries)
    found.email_redeliveries = sum(n - 1 for n in deliveries.values())
    found.duplicated += [
        f"email {to} {subject!r} x{len(m)}" for (to, subject), m in per_template.items() if len(m) > 1
    ]
    for lead in leads:
        wanted = bool(OUTCOMES[lead.outcome][3]) + (lead.email in lost_deals)
        got = sum(1 for (to, _) in per_template if lead.email in to)
        if got < wanted:
            found.lost.append(f"{lead.email}: {got} of {wanted} emails")
    return found


async def opened_deals(stack: TestStack, leads: set[str]) -> dict[str, str]:
    """The opportunity opened for each of these leads that has one, by lead id."""
    deals = {}
    for record in await read_topic(stack, topics.OPPORTUNITY_EVENTS, within=2.0):
        event = orjson.loads(record.value)
        if event["type"] == "opportunity.opened" and event["data"]["lead_id"] in leads:
            deals[event["data"]["lead_id"]] = event["data"]["opportunity_id"]
    return deals


async def lose_some_deals(
    stack: TestStack, opportunity: ServiceProcess, leads: list[Lead], count: int
) -> set[str]:
    """Close `count` opened opportunities as lost through opportunity's API; the emails of their leads."""
    ids = await lead_ids(stack, leads)
    by_id = {lead_id: email for email, lead_id in ids.items()}
    wanted = {ids[lead.email] for lead in leads if lead.outcome == "opportunity" and lead.email in ids}

    async def opened() -> dict[str, str] | None:
        deals = await opened_deals(stack, wanted)
        return deals if len(deals) >= count else None

    try:
        deals = await wait_until(opened, within=120, every=1.0)
    except AssertionError:
        found = await opened_deals(stack, wanted)
        state = "\n".join(await vitals(stack, {"opportunity": opportunity}))
        raise AssertionError(
            f"{len(found)} of the {count} deals wanted opened within 120 s"
            f" ({len(wanted)} leads meant to open one)\n{state}"
        ) from None
    lost: set[str] = set()
    async with httpx.AsyncClient(base_url=opportunity.url, timeout=30) as client:
        for lead_id, opportunity_id in list(deals.items())[:count]:
            moved = await client.post(
                f"/v1/opportunities/{opportunity_id}/stage",
                json={"stage": "closed_lost", "lost_reason": "price"},
                headers=auth(stack, "write"),
            )
            assert moved.status_code == 200, moved.text
            lost.add(by_id[lead_id])
    return lost


# The metrics that tell a stalled service from a finished one.
VITAL_METRICS = (
    "leadflow_events_consumed_total",
    "leadflow_events_published_total",
    "leadflow_outbox_oldest_unpublished_seconds",
    "leadflow_consumer_batch_seconds_count",
    "leadflow_consumer_retries_total",
)


async def vitals(stack: TestStack, services: dict[str, ServiceProcess]) -> list[str]:
    """What each service's readiness, metrics and database sessions say, for the report of a failed run."""
    lines = []
    for process in services.values():
        if process.process is not None and process.process.poll() is None:
            process.process.send_signal(signal.SIGUSR1)  # each task's await chain, into the service's log
    async with httpx.AsyncClient(timeout=5) as client:
        for service, process in services.items():
            try:
                ready = (await client.get(f"{process.url}/health/ready")).text
                metrics = (await client.get(f"{process.url}/metrics")).text.splitlines()
            except httpx.HTTPError as exc:
                lines.append(f"{service}: no answer ({exc!r})")
                continue
            totals: dict[str, float] = defaultdict(float)
            for line in metrics:
                name, _, value = line.partition("{")
                if name in VITAL_METRICS:
                    labels, _, number = value.rpartition("} ")
                    consumer = next((p for p in labels.split(",") if p.startswith("consumer=")), "")
                    totals[f"{name.removeprefix('leadflow_')}{{{consumer}}}"] += float(number)
            lines.append(
                f"{service}: ready {ready}; " + ", ".join(f"{k} {v:g}" for k, v in sorted(totals.items()))
            )
            try:
                conn = await asyncpg.connect(Db(stack, service).dsn, timeout=5)
                try:
                    sessions = await conn.fetch(
                        "SELECT state, round(extract(epoch FROM clock_timestamp() - state_change)) AS s,"
                        " left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS q FROM pg_stat_activity"
                        " WHERE usename = current_user AND pid <> pg_backend_pid() ORDER BY s DESC LIMIT 8"
                    )
                finally:
                    await conn.close()
                lines += [f"  session {r['state']} for {r['s']} s: {r['q']}" for r in sessions]
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                lines.append(f"  sessions unknown ({exc!r})")
    return lines


def report(lines: list[str], logs: Path, name: str) -> None:
    """Print the per-fault counts and keep them beside the test logs."""
    text = "\n".join(lines) + "\n"
    print(text)
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "faults-summary.txt", "a") as summary:
        summary.write(f"## {name}\n{text}")


# Every topic a service consumes: what at-least-once delivery may hand it a second time.
CONSUMED_TOPICS = (
    topics.LEADS_SUBMITTED,
    topics.LEADS_ACTIVITY,
    topics.INTAKE_EVENTS,
    topics.QUALIFICATION_EVENTS,
    topics.OPPORTUNITY_EVENTS,
    topics.NURTURE_EVENTS,
)


async def deliver_again(stack: TestStack) -> int:
    """Publish every message of every consumed topic once more, byte for byte (same key, same event id),
    as a producer retry or a consumer restarting before its commit would; answer how many."""
    count = 0
    for topic in CONSUMED_TOPICS:
        records = await read_topic(stack, topic, within=4.0)
        await produce(stack, topic, [(record.key, record.value) for record in records])
        count += len(records)
    return count


# Work queues a background job drains on its own clock: their counts move without any delivery.
WORK_QUEUES = frozenset({"qualification.funnel_dirty"})


async def table_rows(stack: TestStack) -> dict[str, int]:
    """Rows per table of every service's schema (work queues aside): a repeated effect adds rows somewhere."""
    counts: dict[str, int] = {}
    for service in SERVICES:
        db = Db(stack, service)
        tables = await db.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
            service,
        )
        for table in tables:
            name = table["table_name"]
            if f"{service}.{name}" not in WORK_QUEUES:
                counts[f"{service}.{name}"] = int(await db.fetchval(f'SELECT count(*) FROM "{name}"'))
    return counts


def unique_tag() -> str:
    """A short run tag for emails and source ids."""
    return uuid.uuid4().hex[:6]
