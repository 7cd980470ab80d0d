"""The pipeline as the services run it: throughput to the final state, and latency at a fixed rate."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from leadflow_bench.measure import machine_cpu, percentiles, process_cpu_s
from leadflow_bench.system import Progress, Services, wait_quiet
from leadflow_devstack.testing import SERVICES, TestStack
from leadflow_shared.contracts import topics

DECISION_TYPES = frozenset({"lead.qualified", "lead.disqualified"})
# The outcomes design.md times apart, by the event that marks each (an archive is the decision itself).
OUTCOME_TYPES = {
    "lead.converted": "conversion",
    "opportunity.opened": "opportunity",
    "nurture.enrolled": "enrolment",
}
DOWNSTREAM = (
    topics.INTAKE_EVENTS,
    topics.QUALIFICATION_EVENTS,
    topics.OPPORTUNITY_EVENTS,
    topics.NURTURE_EVENTS,
)


def _producer(stack: TestStack) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=stack.bootstrap, enable_idempotence=True, linger_ms=5, max_batch_size=262_144
    )


async def run_throughput(
    stack: TestStack, services: Services, progress: Progress, messages: list[bytes], timeout_s: float
) -> dict[str, object]:
    """Publish every submission at once; the clock stops when every group and outbox is drained."""
    before = services.sample()
    machine_before = machine_cpu()
    sessions_before = process_cpu_s(await progress.session_pids())
    volume_before = await progress.volume()
    producer = _producer(stack)
    await producer.start()
    try:
        started = time.monotonic()
        futures = [
            await producer.send(stack.topic_prefix + topics.LEADS_SUBMITTED, value=m) for m in messages
        ]
        await asyncio.gather(*futures)
        published = time.monotonic()
    finally:
        await producer.stop()
    quiet = await wait_quiet(progress, services, started, expect_groups=len(SERVICES), timeout_s=timeout_s)
    after = services.sample()
    machine_after = machine_cpu()
    sessions_after = process_cpu_s(await progress.session_pids())
    volume = (await progress.volume()).since(
        volume_before, stack.topic_prefix, progress.subscriptions(await progress.groups())
    )
    # This run's database sessions, without the server's background work or anything else on this machine.
    machine_after["postgres_sessions"] = sum(sessions_after.values())
    machine_before["postgres_sessions"] = sum(sessions_before.get(pid, 0.0) for pid in sessions_after)
    total = quiet.done_at - started
    count = len(messages)
    per_service = {name: round(count / max(quiet.busy_until[name] - started, 1e-3), 1) for name in SERVICES}
    cpu = {
        name: round((after[name].cpu_s - before[name].cpu_s) / count * 1000, 3)
        for name in SERVICES
        if name in before and name in after
    }
    return {
        "leads": count,
        "publish_s": round(published - started, 2),
        "seconds": round(total, 2),
        "leads_per_s": round(count / total, 1),
        "per_service_leads_per_s": per_service,
        "per_service_done_s": {n: round(quiet.busy_until[n] - started, 2) for n in SERVICES},
        "cpu_s_per_1000_leads": cpu,
        # Postgres and Kafka are shared with anything else running on this machine: read as an upper bound.
        "machine_cpu_s_per_1000_leads": {
            k: round((machine_after[k] - machine_before[k]) / count * 1000, 3) for k in machine_after
        },
        # Messages per lead: what the services produced, what reached their groups, and what they handled
        # (an inbox row each; the rest were passed over by their type header).
        "messages_per_lead": {k: round(n / count, 2) for k, n in volume.items()},
        "machine_busy_share": round(
            (machine_after["machine_busy"] - machine_before["machine_busy"])
            / max(
                1e-9,
                machine_after["machine_busy"]
                + machine_after["machine_idle"]
                - machine_before["machine_busy"]
                - machine_before["machine_idle"],
            ),
            3,
        ),
    }


@dataclass
class Observed:
    """What the latency watcher saw per correlation id: first decision and last event times (epoch s)."""

    captured: dict[str, float] = field(default_factory=dict)
    decision: dict[str, float] = field(default_factory=dict)
    first_qualification: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    outcomes: dict[str, dict[str, float]] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)


async def _watch(consumer: AIOKafkaConsumer, observed: Observed, stop: asyncio.Event) -> None:
    qualification_suffix = "." + topics.QUALIFICATION_EVENTS
    intake_suffix = "." + topics.INTAKE_EVENTS
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=100, max_records=2000)
        for tp, records in batches.items():
            is_qualification = tp.topic.endswith(qualification_suffix)
            is_intake = tp.topic.endswith(intake_suffix)
            for record in records:
                try:
                    event = orjson.loads(record.value or b"{}")
                except orjson.JSONDecodeError:
                    continue
                cid, kind = event.get("correlationid"), event.get("type", "?")
                if not cid:
                    continue
                at = record.timestamp / 1000
                observed.types[kind] = observed.types.get(kind, 0) + 1
                if is_intake:
                    observed.captured.setdefault(cid, at)
                    continue
                if is_qualification:
                    observed.first_qualification.setdefault(cid, at)
                    if kind in DECISION_TYPES:
                        observed.decision.setdefault(cid, at)
                outcome = OUTCOME_TYPES.get(kind)
                if outcome:
                    observed.outcomes.setdefault(outcome, {}).setdefault(cid, at)
                observed.last[cid] = max(observed.last.get(cid, 0.0), at)


async def run_latency(
    stack: TestStack,
    services: Services,
    progress: Progress,
    messages: list[tuple[str, bytes]],
    rate: float,
    timeout_s: float,
) -> dict[str, object]:
    """Offer submissions at a fixed rate; latency from each send to its decision and to its last event."""
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    parts = [TopicPartition(stack.topic_prefix + t, p) for t in DOWNSTREAM for p in range(stack.partitions)]
    consumer.assign(parts)
    await consumer.seek_to_end(*parts)
    for tp in parts:
        await consumer.position(tp)
    observed, stop = Observed(), asyncio.Event()
    watcher = asyncio.create_task(_watch(consumer, observed, stop))
    sent: dict[str, float] = {}
    producer = _producer(stack)
    await producer.start()
    try:
        started = time.monotonic()
        futures = []
        for i, (cid, value) in enumerate(messages):
            due = started + i / rate
            ahead = due - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
            sent[cid] = time.time()
            futures.append(await producer.send(stack.topic_prefix + topics.LEADS_SUBMITTED, value=value))
        offered_s = time.monotonic() - started
        await asyncio.gather(*futures)
        await wait_quiet(progress, services, started, expect_groups=len(SERVICES), timeout_s=timeout_s)
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        await watcher
        await producer.stop()
        await consumer.stop()
    decisions = observed.decision or observed.first_qualification
    return {
        "offered_rate": rate,
        "achieved_rate": round(len(messages) / offered_s, 1) if offered_s else 0.0,
        "leads": len(messages),
        "decision_event": "lead.qualified/lead.disqualified"
        if observed.decision
        else "first qualification.events event (no decision events seen)",
        "to_intake_event_ms": _latencies(sent, observed.captured),
        "to_decision_ms": _latencies(sent, decisions),
        "to_final_ms": _latencies(sent, observed.last),
        "to_outcome_ms": {
            outcome: _latencies(sent, observed.outcomes.get(outcome, {}))
            for outcome in OUTCOME_TYPES.values()
        },
        "event_types_seen": dict(sorted(observed.types.items())),
    }


def _latencies(sent: dict[str, float], seen: dict[str, float]) -> dict[str, float | int | None]:
    """Percentiles of the time from each submission's send to the moment its event was seen, in ms."""
    return percentiles([(seen[cid] - at) * 1000 for cid, at in sent.items() if cid in seen])
