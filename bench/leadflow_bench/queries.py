"""Query latency with many leads stored: bulk-loaded rows, then the read endpoints that exist."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import orjson

from leadflow_bench.measure import percentiles
from leadflow_devstack.testing import TestStack

STATUSES = (
    ("open", "open", 30),
    ("contacted", "contacted", 10),
    ("qualified", "qualified", 15),
    ("unqualified", "unqualified", 15),
    ("nurturing", "unqualified", 15),
    ("converted", "converted", 10),
    ("archived", "archived", 5),
)
OWNERS = ("ada@sales.example", "grace@sales.example", "linus@sales.example", None)
INDUSTRIES = ("software", "logistics", "manufacturing", "food", "financial services")


@dataclass(frozen=True)
class Stored:
    """Some ids and emails of the loaded leads, to ask for."""

    ids: list[uuid.UUID]
    emails: list[str]
    count: int
    load_s: float


def _rows(count: int, seed: int) -> Iterator[tuple[uuid.UUID, str, str, str, str, str, str | None]]:
    rng = random.Random(seed)
    weights = [w for _, _, w in STATUSES]
    for n in range(count):
        lead_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        email = f"lead{n}.{lead_id.hex[:6]}@company{n % 5000}.example"
        profile = orjson.dumps(
            {
                "first_name": "Ada",
                "last_name": f"Lovelace{n}",
                "email": email,
                "company": f"Company {n % 5000}",
                "company_domain": f"company{n % 5000}.example",
                "country": rng.choice(("DE", "US", "GB", "FR", "BR")),
                "industry": rng.choice(INDUSTRIES),
                "company_size": rng.randint(1, 5000),
                "seniority": rng.choice(("c_level", "vp", "manager", "individual")),
            }
        ).decode()
        status, category, _ = rng.choices(STATUSES, weights=weights)[0]
        yield lead_id, email, profile, status, category, profile, rng.choice(OWNERS)


async def bulk_load(stack: TestStack, count: int, chunk: int = 50_000, seed: int = 11) -> Stored:
    """COPY `count` leads into intake.leads and qualification.leads (required columns only), then ANALYZE."""
    intake = await asyncpg.connect(stack.dsn("intake"), server_settings={"search_path": "intake"})
    qualification = await asyncpg.connect(
        stack.dsn("qualification"), server_settings={"search_path": "qualification"}
    )
    rng = random.Random(seed)
    ids: list[uuid.UUID] = []
    emails: list[str] = []
    started = time.perf_counter()
    try:
        batch: list[tuple[uuid.UUID, str, str, str, str, str, str | None]] = []

        async def flush() -> None:
            await intake.copy_records_to_table(
                "leads",
                schema_name="intake",
                columns=["id", "email", "profile"],
                records=[(r[0], r[1], r[2]) for r in batch],
            )
            await qualification.copy_records_to_table(
                "leads",
                schema_name="qualification",
                columns=["id", "status", "category", "profile", "owner"],
                records=[(r[0], r[3], r[4], r[5], r[6]) for r in batch],
            )
            batch.clear()

        for row in _rows(count, seed):
            batch.append(row)
            if rng.random() < 2000 / max(count, 1):
                ids.append(row[0])
                emails.append(row[1])
            if len(batch) >= chunk:
                await flush()
        if batch:
            await flush()
        await intake.execute("ANALYZE leads")
        await qualification.execute("ANALYZE leads")
    finally:
        await intake.close()
        await qualification.close()
    return Stored(
        ids or [uuid.uuid4()], emails or ["nobody@example.com"], count, time.perf_counter() - started
    )


@dataclass(frozen=True)
class Probe:
    """One read endpoint to time: which service, what kind, and the path (with {id} / {email} filled in)."""

    service: str
    kind: str
    path: str


PROBES: tuple[Probe, ...] = (
    Probe("intake", "by id", "/v1/leads/{id}"),
    Probe("qualification", "by id", "/v1/leads/{id}"),
    Probe("intake", "list", "/v1/leads?email={email}"),
    Probe("intake", "list", "/v1/leads?limit=50"),
    Probe("qualification", "list", "/v1/leads?status=qualified&limit=50"),
    Probe("qualification", "list", "/v1/leads?owner=ada@sales.example&limit=50"),
    Probe("intake", "kpi", "/v1/kpis"),
    Probe("qualification", "kpi", "/v1/kpis"),
    Probe("qualification", "kpi", "/v1/funnel"),
    Probe("opportunity", "list", "/v1/opportunities?limit=50"),
    Probe("opportunity", "kpi", "/v1/kpis"),
    Probe("opportunity", "kpi", "/v1/forecast"),
    Probe("nurture", "kpi", "/v1/kpis"),
)

CURSOR_KEYS = ("next_cursor", "cursor", "next")


def _fill(path: str, stored: Stored, rng: random.Random) -> str:
    return path.replace("{id}", str(rng.choice(stored.ids))).replace("{email}", rng.choice(stored.emails))


def _next_page(path: str, body: object) -> str | None:
    if not isinstance(body, dict):
        return None
    for key in CURSOR_KEYS:
        value = body.get(key)
        if isinstance(value, str) and value:
            if value.startswith("/"):
                return value
            separator = "&" if "?" in path else "?"
            return f"{path}{separator}cursor={value}"
    return None


async def run_queries(
    urls: dict[str, str], token: str, stored: Stored, requests: int, budget_s: float = 20.0, seed: int = 5
) -> list[dict[str, object]]:
    """Time every probe that the services answer; say 'not available' for the others."""
    rng = random.Random(seed)
    results: list[dict[str, object]] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=30.0) as client:
        for probe in PROBES:
            base = urls[probe.service]
            first = await client.get(base + _fill(probe.path, stored, rng))
            entry: dict[str, object] = {"service": probe.service, "kind": probe.kind, "path": probe.path}
            if first.status_code in (404, 405):
                results.append({**entry, "available": False, "note": "not available"})
                continue
            if not 200 <= first.status_code < 300:
                results.append({**entry, "available": False, "note": f"answered {first.status_code}"})
                continue
            count = requests if probe.kind == "by id" else max(10, requests // 5)
            latencies: list[float] = []
            # A slow endpoint gets a time budget rather than holding the run for minutes.
            until = time.perf_counter() + budget_s
            for _ in range(count):
                if time.perf_counter() > until:
                    break
                started = time.perf_counter()
                response = await client.get(base + _fill(probe.path, stored, rng))
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            body = first.json()
            items = body.get("items") if isinstance(body, dict) else None
            entry.update(
                available=True,
                ms=percentiles(latencies),
                items=len(items) if isinstance(items, list) else None,
            )
            page2 = _next_page(probe.path, body)
            if page2:
                page_latencies: list[float] = []
                until = time.perf_counter() + budget_s / 2
                for _ in range(max(10, count // 2)):
                    if time.perf_counter() > until:
                        break
                    started = time.perf_counter()
                    await client.get(base + _fill(page2, stored, rng))
                    page_latencies.append((time.perf_counter() - started) * 1000)
                entry["page2_ms"] = percentiles(page_latencies)
            results.append(entry)
    return results
