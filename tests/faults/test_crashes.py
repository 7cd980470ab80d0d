"""Crashes of every part while leads are in flight: nothing lost, nothing done twice, every outcome reached.

design.md: killing any process (kill -9) at any moment, or restarting Kafka or Postgres, loses nothing and
duplicates nothing. Each fault is inflicted only once work is seen in flight (unpublished outbox rows or
consumer lag), on the tier's own broker and cluster; the checks read every service's topic, the SMTP sink
and the status history, where a repeat would show, not only rows behind unique keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
import pytest_asyncio

from leadflow_devstack.isolated import OwnInfrastructure
from leadflow_devstack.testing import SERVICES, ServiceProcess, TestStack, produce, wait_all_ready, wait_until
from leadflow_shared.contracts import topics

from .harness import (
    Inbox,
    InFlight,
    Lead,
    Probe,
    auth,
    deliver_again,
    emails_expected,
    fault_while_in_flight,
    lose_some_deals,
    report,
    settled,
    table_rows,
    unique_tag,
    use_fast_tracks,
    use_quick_staleness,
    vitals,
    workload,
)

pytestmark = pytest.mark.faults

BURST = 48  # six leads of each of the eight outcomes


@dataclass
class Run:
    """One test's stack, its services, its mailbox, and what it submitted."""

    stack: TestStack
    services: dict[str, ServiceProcess]
    inbox: Inbox
    leads: list[Lead]
    tag: str
    probe: Probe

    @property
    def qualification_url(self) -> str:
        """Where the qualification process serving this run answers now."""
        return self.services["qualification"].url

    def replica(self, service: str) -> ServiceProcess:
        """Another process of a service, configured as the first."""
        return ServiceProcess(self.stack, service, self.services[service].extra_env)

    async def burst(self, count: int = BURST) -> None:
        """Submit leads of every outcome upstream."""
        leads, messages = workload(count, f"{self.tag}{len(self.leads)}")
        self.leads += leads
        await produce(self.stack, topics.LEADS_SUBMITTED, messages)

    async def restart(self, service: str) -> None:
        """Start a killed service again and wait until it is ready."""
        process = self.services[service]
        process.start(wait=False)
        await asyncio.to_thread(wait_all_ready, [process], 180.0)


@pytest_asyncio.fixture
async def run(own_infra: OwnInfrastructure, smtp: tuple[int, Inbox]) -> AsyncIterator[Run]:
    stack = own_infra.new_stack("f")
    await stack.create()
    extra = {
        "nurture": {
            "NURTURE_SMTP_HOST": "127.0.0.1",
            "NURTURE_SMTP_PORT": str(smtp[0]),
            "NURTURE_SCHEDULER_POLL_INTERVAL_S": "0.2",
            # A round killed while sending holds its touches until its lease runs out: seconds, not minutes.
            "NURTURE_SMTP_TIMEOUT_S": "1",
            "NURTURE_SCHEDULER_LEASE_S": "6",
        },
        "qualification": {"QUALIFICATION_SWEEP_INTERVAL_S": "1"},
    }
    services = {name: ServiceProcess(stack, name, extra.get(name)) for name in SERVICES}
    try:
        for process in services.values():
            process.start(wait=False)
        await asyncio.to_thread(wait_all_ready, list(services.values()), 180.0)
        await use_fast_tracks(stack, services["nurture"])
        await use_quick_staleness(stack, services["qualification"])
        probe = Probe(stack)
        try:
            yield Run(stack, services, smtp[1], [], unique_tag(), probe)
        finally:
            await probe.close()
    finally:
        for process in services.values():
            process.stop()
        await stack.destroy()


def label(fault: str, seen: InFlight) -> str:
    return f"{fault}: in flight {seen.total} (outbox {seen.outbox}, lag {seen.lag})"


async def assert_nothing_lost_or_repeated(
    run: Run, lost_deals: set[str], faults: list[str], name: str
) -> None:
    found = await settled(run.stack, run.probe, run.leads, run.inbox, lost_deals, run.qualification_url)
    lines = [*faults, found.line(f"after {len(run.leads)} leads", None)]
    if found.lost or found.duplicated or found.emails != emails_expected(run.leads, lost_deals):
        lines += await vitals(run.stack, run.services)
    report(lines, run.stack.logs, name)
    assert not found.lost, found.lost[:20]
    assert not found.duplicated, found.duplicated[:20]
    assert found.emails == emails_expected(run.leads, lost_deals)
    for process in run.services.values():
        assert process.process is not None
        assert process.process.poll() is None, f"{process.service} exited:\n{process.log_tail()}"


async def test_each_service_sigkilled_twice_with_leads_in_flight_loses_and_repeats_nothing(run: Run) -> None:
    faults: list[str] = []
    lost_deals: set[str] = set()
    for round_ in (1, 2):
        for service in SERVICES:
            if round_ == 2 and service == "nurture":
                lost_deals = await lose_some_deals(run.stack, run.services["opportunity"], run.leads, 4)
            # Probed while the burst is still being sent: a quick service may finish a burst between probes.
            burst = asyncio.create_task(run.burst())

            async def kill(service: str = service) -> None:
                run.services[service].kill()

            seen = await fault_while_in_flight(run.probe, kill, service, more=run.burst)
            faults.append(label(f"SIGKILL {service} (round {round_})", seen))
            assert seen.of(service) > 0
            await burst
            await run.restart(service)
    await assert_nothing_lost_or_repeated(run, lost_deals, faults, "services SIGKILLed")


async def test_the_broker_sigkilled_twice_with_leads_in_flight_loses_and_repeats_nothing(
    run: Run, own_infra: OwnInfrastructure
) -> None:
    faults: list[str] = []

    async def crash() -> None:
        await asyncio.to_thread(own_infra.kafka.crash)

    for round_ in (1, 2):
        await run.burst(BURST * 2)
        seen = await fault_while_in_flight(run.probe, crash)
        faults.append(label(f"SIGKILL broker (round {round_})", seen))
        assert seen.total > 0
        await asyncio.to_thread(own_infra.kafka.start)
    lost_deals = await lose_some_deals(run.stack, run.services["opportunity"], run.leads, 4)
    await assert_nothing_lost_or_repeated(run, lost_deals, faults, "broker SIGKILLed")


async def test_the_postgres_postmaster_sigkilled_twice_with_leads_in_flight_loses_and_repeats_nothing(
    run: Run, own_infra: OwnInfrastructure
) -> None:
    faults: list[str] = []

    async def crash() -> None:
        await asyncio.to_thread(own_infra.postgres.crash)

    for round_ in (1, 2):
        await run.burst(BURST * 2)
        seen = await fault_while_in_flight(run.probe, crash)
        faults.append(label(f"SIGKILL postmaster (round {round_})", seen))
        assert seen.total > 0
        await asyncio.to_thread(own_infra.postgres.restart)
    lost_deals = await lose_some_deals(run.stack, run.services["opportunity"], run.leads, 4)
    await assert_nothing_lost_or_repeated(run, lost_deals, faults, "postmaster SIGKILLed")


async def test_a_second_replica_joining_and_the_first_leaving_under_load_loses_and_repeats_nothing(
    run: Run,
) -> None:
    faults: list[str] = []
    for service in ("qualification", "nurture", "opportunity"):
        await run.burst(BURST * 2)
        second = run.replica(service)

        async def join(second: ServiceProcess = second) -> None:
            second.start(wait=False)

        seen = await fault_while_in_flight(run.probe, join, service)
        faults.append(label(f"{service} replica joins", seen))
        await asyncio.to_thread(wait_all_ready, [second], 180.0)
        await run.burst(BURST)
        first = run.services[service]

        async def leave(first: ServiceProcess = first) -> None:
            await asyncio.to_thread(first.stop)

        seen = await fault_while_in_flight(run.probe, leave, service)
        faults.append(label(f"{service} first replica leaves", seen))
        assert seen.of(service) > 0
        run.services[service] = second
    lost_deals = await lose_some_deals(run.stack, run.services["opportunity"], run.leads, 4)
    await assert_nothing_lost_or_repeated(run, lost_deals, faults, "replicas rebalanced")


async def test_every_event_delivered_a_second_time_changes_nothing(run: Run) -> None:
    # At-least-once delivery hands any event over again after a crash before the offset commit; only the
    # inboxes make the repeat a no-op, so this replays everything any service ever consumed, at once.
    await run.burst()
    await settled(run.stack, run.probe, run.leads, run.inbox, set(), run.qualification_url)
    lost_deals = await lose_some_deals(run.stack, run.services["opportunity"], run.leads, 4)
    before = await settled(run.stack, run.probe, run.leads, run.inbox, lost_deals, run.qualification_url)
    assert not before.lost, before.lost[:10]
    assert not before.duplicated, before.duplicated[:10]
    rows = await table_rows(run.stack)

    replayed = await deliver_again(run.stack)
    await assert_nothing_lost_or_repeated(
        run, lost_deals, [f"every consumed message delivered again: {replayed}"], "delivered twice"
    )
    after = await table_rows(run.stack)

    changed = {table: (rows.get(table), n) for table, n in after.items() if rows.get(table) != n}
    assert not changed, f"rows added or removed by repeated deliveries: {changed}"


async def test_services_sigkilled_while_the_broker_is_down_lose_nothing_their_relays_held(
    run: Run, own_infra: OwnInfrastructure
) -> None:
    # A relay may only mark a row published once Kafka took it: with the broker down, its sends wait, so a
    # crash then finds rows the relay read but Kafka never took; they must go out after the restart.
    await asyncio.to_thread(own_infra.kafka.crash)
    try:
        since = await run.probe.clock("intake")
        leads, messages = workload(BURST, f"{run.tag}down")
        async with httpx.AsyncClient(base_url=run.services["intake"].url, timeout=30) as client:
            for _, value in messages:
                submission = orjson.loads(value)["data"]["submission"]
                answer = await client.post("/v1/leads", json=submission, headers=auth(run.stack, "write"))
                assert answer.status_code == 202, answer.text
        run.leads += leads
        # The crash comes once intake's relay has read those rows and waits for the absent broker to take them
        await wait_until(lambda: run.probe.relay_waiting_on_kafka("intake", since), within=90)
        waiting = await run.probe.outbox("intake")
        for process in run.services.values():
            process.kill()
    finally:
        await asyncio.to_thread(own_infra.kafka.start)
    for service in SERVICES:
        await run.restart(service)
    fault = f"SIGKILL every service while the broker is down: intake outbox rows waiting {waiting} of {BURST}"
    await assert_nothing_lost_or_repeated(run, set(), [fault], "services killed while the broker was down")
    assert waiting == BURST, "rows marked published while no broker could take them"
