"""`python -m leadflow_bench`: run every section against one isolated stack and print the figures."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from aiokafka.admin import AIOKafkaAdminClient

from leadflow_bench import report, synth
from leadflow_bench.http_load import run_http
from leadflow_bench.measure import git_commit, machine
from leadflow_bench.pipeline import run_latency, run_throughput
from leadflow_bench.queries import bulk_load, run_queries
from leadflow_bench.raw import run_raw
from leadflow_bench.scaling import run_scaling
from leadflow_bench.system import Progress, Services, wait_quiet
from leadflow_devstack.paths import repo_root
from leadflow_devstack.testing import SERVICES, TestStack, new_test_stack

SECTIONS = ("raw", "throughput", "latency", "http", "queries", "restart", "scaling")

app = typer.Typer(add_completion=False)


def say(text: str) -> None:
    """Progress on stderr-like terse lines, so a long run shows where it is."""
    typer.echo(f"[{datetime.now(UTC).strftime('%H:%M:%S')}] {text}", err=True)


async def bench(params: dict[str, Any], results: dict[str, Any]) -> None:
    """Run the sections asked for, in one process, against one fresh stack; figures go into `results`."""
    sections = set(params["sections"])
    stack = new_test_stack("b")
    stack.partitions = params["partitions"]
    say(f"stack {stack.name}: provisioning database, migrations and topics")
    await stack.create()
    services: Services | None = None
    try:
        run = stack.name
        if "raw" in sections:
            count = params["raw_messages"]
            say(f"raw pipe: encoding {count:,} lead messages")
            values = [synth.encoded(lead)[1] for lead in synth.leads(count, run=f"{run}r")]
            say("raw pipe: producing, then consume+COPY, then consume+COPY+produce")
            results["raw_pipe"] = await run_raw(stack, values, batch=params["batch"])
            del values
        profile_dir = Path(params["profile_dir"]) if params["profile_dir"] else None
        say("starting the four services" + (f" under cProfile -> {profile_dir}" if profile_dir else ""))
        services = Services.start(
            stack, params["service_env"], profile_dir=profile_dir, worker_nice=params["worker_nice"]
        )
        services.sample()
        results["startup"] = {"migrate_s": stack.migrate_s, "together_s": services.startup_s}
        async with Progress(stack) as progress:
            if "throughput" in sections:
                count = params["leads"]
                say(f"throughput: encoding {count:,} leads")
                messages = [
                    synth.encoded(lead)[1]
                    for lead in synth.leads(count, run=f"{run}t", duplicates=params["duplicates"])
                ]
                say("throughput: publishing and waiting for every group and outbox to drain")
                results["throughput"] = await run_throughput(
                    stack, services, progress, messages, timeout_s=params["timeout"]
                )
                del messages
            if "latency" in sections:
                count = int(params["latency_rate"] * params["latency_seconds"])
                say(f"latency: {params['latency_rate']}/s for {params['latency_seconds']} s")
                pairs = [
                    synth.encoded(lead)
                    for lead in synth.leads(count, run=f"{run}l", duplicates=params["duplicates"], seed=8)
                ]
                results["latency"] = await run_latency(
                    stack, services, progress, pairs, params["latency_rate"], timeout_s=params["timeout"]
                )
            if "http" in sections:
                say(f"http: {params['http_rate']}/s for {params['http_seconds']} s to an intake api process")
                # As deployed for request latency: HTTP in its own process, consumers in the worker.
                api = services.start_api("intake")
                try:
                    results["http"] = await run_http(
                        api.url,
                        stack.tokens["write"],
                        f"{run}h",
                        params["http_rate"],
                        params["http_seconds"],
                        params["http_connections"],
                        params["http_tool"],
                    )
                    results["http"]["process"] = "intake, INTAKE_ROLE=api"
                    if params["http_alone"]:
                        # The same load while the workers are paused: what the api process answers when it
                        # has the cores to itself, as on replicas of its own.
                        say("http: the same load with the worker processes paused")
                        with services.paused():
                            results["http"]["alone"] = await run_http(
                                api.url,
                                stack.tokens["write"],
                                f"{run}a",
                                params["http_rate"],
                                params["http_seconds"],
                                params["http_connections"],
                                params["http_tool"],
                            )
                finally:
                    api.stop()
                say("http: letting the submissions drain through the pipeline")
                await wait_quiet(progress, services, time.monotonic(), timeout_s=params["timeout"])
            if "queries" in sections:
                say(f"queries: bulk-loading {params['stored_leads']:,} leads")
                stored = await bulk_load(stack, params["stored_leads"])
                say(f"queries: timing endpoints ({params['queries']} requests by id)")
                urls = {name: p.url for name, p in services.processes.items()}
                endpoints = await run_queries(
                    urls, stack.tokens["read"], stored, params["queries"], params["query_seconds"]
                )
                results["queries"] = {
                    "stored": stored.count,
                    "load_s": round(stored.load_s, 1),
                    "rows": stored.rows,
                    "endpoints": endpoints,
                }
        services.sample()
        if "restart" in sections:
            # A rolling deploy's step: a service stopped gracefully, then started alone on the data in place.
            restarts: dict[str, dict[str, float]] = {}
            for name in SERVICES:
                say(f"restart: {name}")
                stop_s, ready_s = services.restart(name)
                restarts[name] = {"stop_s": stop_s, "ready_s": ready_s}
            results["startup"]["restart"] = restarts
            results["startup"]["stored_leads"] = results.get("queries", {}).get("stored", 0)
            services.sample()
        thr = results.get("throughput", {})
        results["resources"] = {
            "peak_rss_mb": {n: round(services.peak_rss_mb.get(n, 0.0), 1) for n in SERVICES},
            "cpu_s_per_1000_leads": thr.get("cpu_s_per_1000_leads", {}),
        }
        raw = results.get("raw_pipe")
        if raw and thr:
            results["ratios"] = {
                "vs_copy": round(thr["leads_per_s"] / raw["copy_msgs_per_s"], 4),
                "vs_copy_and_produce": round(thr["leads_per_s"] / raw["copy_and_produce_msgs_per_s"], 4),
                **raw_cost_ceiling(raw, thr, results["machine"]["cores"] or 1),
            }
    finally:
        if services is not None:
            say("stopping the services")
            services.stop()
        if not params["keep_stack"]:
            await _destroy(stack)
    if "scaling" in sections:
        # After the main stack's services stopped: each replica count has the machine to itself.
        results["scaling"] = await run_scaling(
            params["replicas"],
            params["scaling_leads"],
            params["scaling_partitions"],
            warm_up=params["scaling_warm_up"],
            service_env=params["service_env"],
            worker_nice=params["worker_nice"],
            duplicates=params["duplicates"],
            timeout_s=params["timeout"],
            say=say,
            destroy=_keep if params["keep_stack"] else _destroy,
        )
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")


def raw_cost_ceiling(raw: dict[str, Any], thr: dict[str, Any], cores: int) -> dict[str, float]:
    """The pipeline's messages per lead at the raw pipe's cost: the most leads/s this machine could give them.

    Each event a service handled is costed as a message consumed and COPYed, each event it produced as a
    message produced, at the machine CPU per message the raw pipe took in this run; the cores divided by
    that is the ceiling, with no domain logic, inbox, outbox or transactions counted at all.
    """
    per_lead = thr.get("messages_per_lead")
    cpu = raw.get("machine_cpu_us_per_msg")
    if not per_lead or not cpu:
        return {}
    floor_us = per_lead["handled"] * cpu["copy"] + per_lead["produced"] * cpu["produce"]
    if floor_us <= 0:
        return {}
    ceiling = cores * 1e6 / floor_us
    return {
        "raw_cost_us_per_lead": round(floor_us, 1),
        "raw_cost_ceiling_leads_per_s": round(ceiling, 1),
        "vs_raw_cost_ceiling": round(thr["leads_per_s"] / ceiling, 4),
    }


async def _destroy(stack: TestStack) -> None:
    """Drop the run's database and topics; a failure is reported, never allowed to lose the figures."""
    for attempt in range(5):
        try:
            await stack.destroy()
            await _drop_raw_topics(stack.bootstrap, stack.topic_prefix)
            return
        except Exception as exc:
            # Backends of the stopped services can linger for a moment and block DROP DATABASE.
            say(f"cleanup attempt {attempt + 1} failed: {exc!r}")
            await asyncio.sleep(2.0)
    say(f"stack {stack.name} left behind: drop database {stack.database} and its topics by hand")


async def _keep(stack: TestStack) -> None:
    """--keep-stack: leave the run's database and topics for a look afterwards."""
    say(f"stack {stack.name} kept: database {stack.database}, topics {stack.topic_prefix}*")


async def _drop_raw_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([prefix + "bench.raw.in", prefix + "bench.raw.out"])
    except Exception:
        pass
    finally:
        await admin.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@app.command()
def main(
    leads: Annotated[int, typer.Option(help="leads in throughput mode")] = 100_000,
    raw_messages: Annotated[
        int, typer.Option(help="messages through the raw pipe (0: as many as --leads)")
    ] = 0,
    latency_rate: Annotated[float, typer.Option(help="offered leads/s in latency mode")] = 1000.0,
    latency_seconds: Annotated[float, typer.Option(help="seconds of latency mode")] = 60.0,
    http_rate: Annotated[float, typer.Option(help="offered webhook requests/s")] = 500.0,
    http_seconds: Annotated[float, typer.Option(help="seconds of HTTP load")] = 30.0,
    http_connections: Annotated[int, typer.Option(help="wrk connections")] = 32,
    http_tool: Annotated[str, typer.Option(help="auto, wrk or asyncio")] = "auto",
    http_alone: Annotated[
        bool, typer.Option(help="repeat the HTTP load with the worker processes paused")
    ] = True,
    stored_leads: Annotated[int, typer.Option(help="leads bulk-loaded for the query benchmark")] = 1_000_000,
    queries: Annotated[int, typer.Option(help="requests per by-id endpoint (lists get a fifth)")] = 1000,
    query_seconds: Annotated[float, typer.Option(help="time budget per query endpoint")] = 20.0,
    duplicates: Annotated[float, typer.Option(help="share of submissions repeating an earlier email")] = 0.1,
    partitions: Annotated[int, typer.Option(help="partitions per topic")] = 3,
    replicas: Annotated[str, typer.Option(help="scaling: comma-separated processes per service")] = "1,2",
    scaling_leads: Annotated[int, typer.Option(help="scaling: leads per replica count")] = 20_000,
    scaling_warm_up: Annotated[
        int, typer.Option(help="scaling: leads drained before each timed run, while the groups settle")
    ] = 500,
    scaling_partitions: Annotated[
        int, typer.Option(help="scaling: partitions per topic (a multiple of each replica count)")
    ] = 6,
    batch: Annotated[int, typer.Option(help="raw pipe batch size")] = 500,
    sections: Annotated[str, typer.Option(help="comma-separated: " + ",".join(SECTIONS))] = ",".join(
        SECTIONS
    ),
    timeout: Annotated[float, typer.Option(help="seconds to wait for the pipeline to drain")] = 3600.0,
    results_dir: Annotated[Path, typer.Option(help="where the JSON goes")] = Path("bench/results"),
    profile_dir: Annotated[str, typer.Option(help="run the services under cProfile, .prof files here")] = "",
    keep_stack: Annotated[bool, typer.Option(help="keep the database and topics afterwards")] = False,
    service_env: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE for the service processes, e.g. INTAKE_CONSUMER_MAX_RECORDS=2000"),
    ] = None,
    worker_nice: Annotated[
        int,
        typer.Option(
            help="<SVC>_NICE of the four service processes (the HTTP section's api process runs at 0)",
            min=0,
            max=19,
        ),
    ] = 10,
) -> None:
    """Benchmark the raw pipe, the pipeline, HTTP intake and queries; print one table, write JSON."""
    chosen = [s.strip() for s in sections.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise typer.BadParameter(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    malformed = [item for item in service_env or [] if "=" not in item]
    if malformed:
        raise typer.BadParameter(f"--service-env wants KEY=VALUE, not {malformed}")
    try:
        replica_counts = [int(r) for r in replicas.split(",") if r.strip()]
    except ValueError:
        raise typer.BadParameter(f"--replicas wants counts such as 1,2, not {replicas!r}") from None
    if not replica_counts or min(replica_counts) < 1:
        raise typer.BadParameter(f"--replicas wants counts of at least 1, not {replicas!r}")
    params = {
        "leads": leads,
        "raw_messages": raw_messages or leads,
        "latency_rate": latency_rate,
        "latency_seconds": latency_seconds,
        "http_rate": http_rate,
        "http_seconds": http_seconds,
        "http_connections": http_connections,
        "http_tool": http_tool,
        "http_alone": http_alone,
        "stored_leads": stored_leads,
        "queries": queries,
        "query_seconds": query_seconds,
        "duplicates": duplicates,
        "partitions": partitions,
        "replicas": replica_counts,
        "scaling_leads": scaling_leads,
        "scaling_partitions": scaling_partitions,
        "scaling_warm_up": scaling_warm_up,
        "batch": batch,
        "sections": chosen,
        "timeout": timeout,
        "profile_dir": profile_dir,
        "keep_stack": keep_stack,
        "service_env": dict(item.split("=", 1) for item in service_env or []),
        "worker_nice": worker_nice,
    }
    # SIGTERM unwinds like Ctrl-C, so the services are stopped and the stack is dropped.
    signal.signal(signal.SIGTERM, _interrupt)
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(repo_root()),
        "machine": machine(),
        "parameters": params,
    }
    try:
        asyncio.run(bench(params, results))
    finally:
        # A run that failed half-way still shows and keeps the figures it has.
        if "finished_at" not in results:
            results["incomplete"] = True
        report.show(results)
        path = report.write(results, results_dir)
        typer.echo(f"figures written to {path}")


if __name__ == "__main__":
    app()
