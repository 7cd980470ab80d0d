"""One table on stdout, and the same figures as JSON under bench/results/."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

TARGETS = {
    "end_to_end": ">= 5,000 leads/s and >= 25% of raw single hop",
    "decision_p99": "<= 250 ms at 1,000 leads/s",
    "webhook_p99": "<= 20 ms at 500 req/s",
    "by_id_p99": "<= 20 ms with 1,000,000 leads",
    "list_p99": "<= 50 ms with 1,000,000 leads",
    "rss": "<= 150 MB per service",
}


def _ms(figures: Any) -> str:
    if not isinstance(figures, dict) or figures.get("p50") is None:
        return "no samples"
    parts = [f"p50 {figures['p50']}", f"p95 {figures['p95']}" if "p95" in figures else None]
    parts += [f"p99 {figures['p99']}", f"max {figures['max']}"]
    return " / ".join(p for p in parts if p) + " ms"


def table(results: dict[str, Any]) -> Table:
    """The figures of a run as one rich table."""
    out = Table(title=f"leadflow benchmark {results['started_at']} ({results['commit'][:12]})")
    for column in ("section", "figure", "value", "target / ratio"):
        out.add_column(column)
    raw = results.get("raw_pipe")
    if raw:
        out.add_row("1 raw pipe", "produce only", f"{raw['produce_msgs_per_s']:,} msg/s", "")
        out.add_row("", "consume + COPY", f"{raw['copy_msgs_per_s']:,} msg/s", "")
        out.add_row("", "consume + COPY + produce", f"{raw['copy_and_produce_msgs_per_s']:,} msg/s", "")
        cpu = raw.get("machine_cpu_us_per_msg")
        if cpu:
            out.add_row(
                "",
                "  machine CPU per message",
                f"produce {cpu['produce']} / COPY {cpu['copy']}"
                f" / COPY + produce {cpu['copy_and_produce']} µs",
                "",
            )
    thr = results.get("throughput")
    if thr:
        ratios = results.get("ratios", {})
        out.add_row(
            "2 throughput",
            f"end to end ({thr['leads']:,} leads, {thr['seconds']} s)",
            f"{thr['leads_per_s']:,} leads/s",
            TARGETS["end_to_end"]
            + (
                f"; {ratios['vs_copy']:.1%} of COPY pipe, {ratios['vs_copy_and_produce']:.1%} of single hop"
                if ratios
                else ""
            ),
        )
        for name, rate in thr["per_service_leads_per_s"].items():
            out.add_row(
                "", f"  {name} (done at {thr['per_service_done_s'][name]} s)", f"{rate:,} leads/s", ""
            )
        per_lead = thr.get("messages_per_lead")
        if per_lead:
            out.add_row(
                "",
                "  messages per lead: produced / delivered to groups / handled",
                f"{per_lead['produced']} / {per_lead['delivered']} / {per_lead['handled']}",
                "",
            )
        if "raw_cost_ceiling_leads_per_s" in ratios:
            out.add_row(
                "",
                "  those messages at the raw pipe's CPU per message",
                f"{ratios['raw_cost_us_per_lead']} µs per lead: at most"
                f" {ratios['raw_cost_ceiling_leads_per_s']:,.0f} leads/s",
                f"the pipeline is at {ratios['vs_raw_cost_ceiling']:.1%} of it",
            )
        shares = thr.get("machine_cpu_s_per_1000_leads", {})
        if shares:
            out.add_row(
                "",
                "  machine CPU s / 1,000 leads",
                f"postgres {shares['postgres']} (this run's sessions {shares.get('postgres_sessions', '-')}),"
                f" kafka {shares['kafka']}, all {shares['machine_busy']}",
                f"cores busy {thr['machine_busy_share']:.0%}",
            )
    lat = results.get("latency")
    if lat:
        out.add_row(
            "3 latency",
            f"offered {lat['offered_rate']}/s, achieved {lat['achieved_rate']}/s",
            f"{lat['leads']:,} leads",
            "",
        )
        out.add_row("", "submission -> intake event (1 hop)", _ms(lat.get("to_intake_event_ms")), "")
        out.add_row("", "submission -> decision", _ms(lat["to_decision_ms"]), TARGETS["decision_p99"])
        out.add_row("", "submission -> final outcome", _ms(lat["to_final_ms"]), "")
        for outcome, figures in lat.get("to_outcome_ms", {}).items():
            out.add_row("", f"  -> {outcome} ({figures.get('count', 0):,} leads)", _ms(figures), "")
    http = results.get("http")
    if http:
        where = " to an api process" if http.get("process") else ""
        out.add_row(
            "4 http intake",
            f"{http['tool']}, offered {http['offered_rate']}/s{where}",
            f"{http['requests_per_s']:,} req/s ({http['non_2xx']} non-2xx, {http['socket_errors']} errors)",
            "",
        )
        out.add_row(
            "",
            "acknowledgement, the pipeline draining on the same cores"
            + (
                f" (workers at nice {nice})"
                if (nice := results.get("parameters", {}).get("worker_nice"))
                else ""
            ),
            _ms(http["ack_ms"]),
            TARGETS["webhook_p99"],
        )
        alone = http.get("alone")
        if alone:
            out.add_row(
                "",
                f"acknowledgement, workers paused ({alone['requests_per_s']:,} req/s)",
                _ms(alone["ack_ms"]),
                TARGETS["webhook_p99"],
            )
    queries = results.get("queries")
    if queries:
        out.add_row(
            "5 queries", "leads stored (bulk COPY)", f"{queries['stored']:,}", f"load {queries['load_s']} s"
        )
        rows = queries.get("rows", {})
        for table in ("opportunity.opportunities", "nurture.enrollments", "qualification.status_history"):
            if table in rows:
                out.add_row("", f"  with {table}", f"{rows[table]:,}", "")
        for entry in queries["endpoints"]:
            label = f"  {entry['service']} {entry['kind']} {entry['path']}"
            if not entry["available"]:
                out.add_row("", label, entry["note"], "")
                continue
            target = TARGETS["by_id_p99"] if entry["kind"] == "by id" else TARGETS["list_p99"]
            out.add_row("", label, _ms(entry["ms"]), target)
            if "page2_ms" in entry:
                out.add_row("", "    next page", _ms(entry["page2_ms"]), "")
    res = results.get("resources")
    if res:
        for name, peak in res["peak_rss_mb"].items():
            cpu = res["cpu_s_per_1000_leads"].get(name)
            out.add_row(
                "6 resources" if name == next(iter(res["peak_rss_mb"])) else "",
                f"  {name}",
                f"peak RSS {peak:.0f} MB; CPU {cpu if cpu is not None else '-'} s / 1,000 leads",
                TARGETS["rss"],
            )
    startup = results.get("startup")
    if startup:
        migrations = startup.get("migrate_s", {})
        if migrations:
            out.add_row(
                "7 start-up",
                "`migrate` command, empty schema to head",
                " / ".join(f"{name} {seconds} s" for name, seconds in migrations.items()),
                "",
            )
        together = startup.get("together_s", {})
        out.add_row(
            "" if migrations else "7 start-up",
            "spawn to ready, the four together, empty schema",
            " / ".join(f"{name} {seconds} s" for name, seconds in together.items()),
            "",
        )
        stored = startup.get("stored_leads", 0)
        for name, figures in startup.get("restart", {}).items():
            out.add_row(
                "",
                f"  {name} restarted alone" + (f" ({stored:,} leads stored)" if stored else ""),
                f"graceful stop {figures['stop_s']} s, ready {figures['ready_s']} s after spawn",
                "",
            )
    scaling = results.get("scaling")
    if scaling:
        for index, run in enumerate(scaling["runs"]):
            shares = run["machine_cpu_s_per_1000_leads"]
            out.add_row(
                "8 scaling" if index == 0 else "",
                f"  {run['replicas']} process(es) per service ({scaling['leads']:,} leads,"
                f" {scaling['partitions']} partitions)",
                f"{run['leads_per_s']:,} leads/s; CPU s / 1,000 leads: services"
                f" {run['services_cpu_s_per_1000_leads']}, machine {shares.get('machine_busy', '-')}",
                f"x{run['vs_one_replica']} of one" if "vs_one_replica" in run else "",
            )
    return out


def write(results: dict[str, Any], directory: Path) -> Path:
    """Write the run's JSON; answer its path."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path


def show(results: dict[str, Any]) -> None:
    """Print the table."""
    Console(width=160).print(table(results))
