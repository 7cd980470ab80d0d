"""Throughput as replicas are added: the same leads through fresh stacks with 1, 2, ... processes each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from leadflow_bench import synth
from leadflow_bench.pipeline import run_throughput
from leadflow_bench.system import Progress, Services
from leadflow_devstack.testing import TestStack, new_test_stack


async def run_scaling(
    replica_counts: Sequence[int],
    leads: int,
    partitions: int,
    *,
    warm_up: int,
    service_env: Mapping[str, str],
    worker_nice: int,
    duplicates: float,
    timeout_s: float,
    say: Callable[[str], None],
    destroy: Callable[[TestStack], Awaitable[None]],
) -> dict[str, object]:
    """One throughput run per replica count, each on a stack of its own, so none inherits another's data."""
    runs: list[dict[str, object]] = []
    for replicas in replica_counts:
        stack = new_test_stack("s")
        stack.partitions = partitions
        await stack.create()
        services: Services | None = None
        try:
            say(f"scaling: {replicas} replica(s) per service, {leads:,} leads")
            services = Services.start(stack, service_env, worker_nice=worker_nice, replicas=replicas)
            async with Progress(stack) as progress:
                # A warm-up drained first: every group has settled its members' partitions (the broker's
                # initial rebalance delay gathers replicas started together), and no run pays for the joins.
                warm = [synth.encoded(lead)[1] for lead in synth.leads(warm_up, run=f"{stack.name}w", seed=3)]
                await run_throughput(stack, services, progress, warm, timeout_s=timeout_s)
                messages = [
                    synth.encoded(lead)[1]
                    for lead in synth.leads(leads, run=f"{stack.name}t", duplicates=duplicates)
                ]
                figures = await run_throughput(stack, services, progress, messages, timeout_s=timeout_s)
            cpu = figures["cpu_s_per_1000_leads"]
            assert isinstance(cpu, dict)
            runs.append(
                {
                    "replicas": replicas,
                    "leads_per_s": figures["leads_per_s"],
                    "seconds": figures["seconds"],
                    "services_cpu_s_per_1000_leads": round(sum(cpu.values()), 3),
                    "machine_cpu_s_per_1000_leads": figures["machine_cpu_s_per_1000_leads"],
                    "machine_busy_share": figures["machine_busy_share"],
                }
            )
        finally:
            if services is not None:
                services.stop()
            await destroy(stack)
    base = next((run["leads_per_s"] for run in runs if run["replicas"] == 1), None)
    for run in runs:
        value = run["leads_per_s"]
        if isinstance(base, float) and isinstance(value, float) and base:
            run["vs_one_replica"] = round(value / base, 2)
    return {"leads": leads, "warm_up_leads": warm_up, "partitions": partitions, "runs": runs}
