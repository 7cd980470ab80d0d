"""Query latency with many leads stored: bulk-loaded rows, then the read endpoints that exist."""

from __future__ import annotations

import asyncio
import random
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import orjson

from leadflow_bench.measure import percentiles
from leadflow_bench.synth import SOURCES
from leadflow_devstack.testing import SERVICES, TestStack

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
COMPANIES = 5000
CAMPAIGNS = (
    *(
        f"{season}-launch-{year}"
        for season in ("spring", "summer", "autumn", "winter")
        for year in (2025, 2026)
    ),
    "black-friday",
    "partner-week",
    "webinar-series",
    "trade-show-berlin",
    None,
    None,
    None,
    None,
)
SPREAD = timedelta(days=730)
"""Stored leads arrived evenly over two years, oldest first: a 30-day KPI window holds about 4% of them."""

# How far each status got: the history rows before its last one, as (status, category, reason code).
EARLIER_STEPS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "open": (),
    "contacted": (("open", "open", None),),
    "qualified": (("open", "open", None), ("contacted", "contacted", None)),
    "unqualified": (("open", "open", None),),
    "nurturing": (("open", "open", None),),
    "converted": (("open", "open", None), ("contacted", "contacted", None), ("qualified", "qualified", None)),
    "archived": (("open", "open", None),),
}
DISQUALIFIED_REASONS = {
    "unqualified": ("no_budget", "no_need"),
    "nurturing": ("no_authority",),
    "archived": ("not_icp",),
}

# (stage, probability, forecast category, closed, won, weight): the default stages, most deals still open.
STAGES = (
    ("prospecting", 0.1, "pipeline", False, False, 20),
    ("qualification", 0.2, "pipeline", False, False, 12),
    ("needs_analysis", 0.4, "pipeline", False, False, 10),
    ("proposal", 0.6, "best_case", False, False, 8),
    ("negotiation", 0.8, "commit", False, False, 5),
    ("closed_won", 1.0, "closed", True, True, 25),
    ("closed_lost", 0.0, "omitted", True, False, 20),
)
TRACKS = {
    "open": ("newsletter",),
    "unqualified": ("budget-drip", "newsletter"),
    "nurturing": ("webinar",),
    "archived": ("re-engage", "win-back"),
}
# (enrollment status, weight)
ENROLLMENT_STATUSES = (
    ("active", 45),
    ("exhausted", 25),
    ("requalified", 12),
    ("unsubscribed", 6),
    ("converted", 12),
)

COPY_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("intake", "leads"): ("id", "email", "profile", "created_at", "merged_into"),
    ("intake", "touches"): (
        "lead_id",
        "channel",
        "source_system",
        "source_id",
        "campaign",
        "occurred_at",
        "received_at",
    ),
    ("qualification", "leads"): ("id", "status", "category", "profile", "owner", "created_at"),
    ("qualification", "status_history"): (
        "lead_id",
        "from_status",
        "to_status",
        "category",
        "reason",
        "actor",
        "at",
        "reason_code",
    ),
    ("opportunity", "contacts"): (
        "id",
        "account_id",
        "email_key",
        "lead_id",
        "email",
        "owner",
        "source_system",
        "campaign_key",
    ),
    ("opportunity", "converted_leads"): (
        "lead_id",
        "account_id",
        "contact_id",
        "source_system",
        "campaign_key",
        "converted_at",
    ),
    ("opportunity", "opportunities"): (
        "id",
        "lead_id",
        "account_id",
        "contact_id",
        "name",
        "stage",
        "probability",
        "forecast_category",
        "amount",
        "amount_basis",
        "close_date",
        "owner",
        "source_system",
        "campaign_key",
        "criteria_version",
        "stage_set_version",
        "is_closed",
        "is_won",
        "lost_reason",
        "opened_at",
        "closed_at",
    ),
    ("nurture", "enrollments"): (
        "id",
        "lead_id",
        "track",
        "track_version",
        "source",
        "status",
        "started_at",
        "engagement_points",
        "last_engaged_at",
        "touches_sent",
        "touches_skipped",
        "ended_at",
        "end_reason",
        "exhausted_next",
        "next_track",
    ),
}
"""What the bulk load writes, in the order it writes it (a row's references come first)."""


DERIVED = (
    ("opportunity", "accounts"),
    ("intake", "source_day_leads"),
    ("intake", "source_day_totals"),
    ("intake", "lead_days"),
    ("qualification", "funnel_leads"),
)
"""Tables filled besides the COPYs (accounts first, the rest by the services' triggers): vacuumed too."""


# The funnel's cells are caught up: no day left to rebuild, and every run of days up to today built, that is
# 2**lvl days from a multiple of 2**lvl inside [first day of the facts, today], for every level up to 10.
FUNNEL_CELLS_CAUGHT_UP = """
SELECT NOT EXISTS (SELECT FROM funnel_dirty)
       AND (SELECT count(*) FROM funnel_nodes
            WHERE node::bigint << lvl >= d.first AND (node + 1)::bigint << lvl <= d.stop)
           >= (SELECT sum(greatest(0, (d.stop >> l) - ((d.first + (1 << l) - 1) >> l)))
               FROM generate_series(0, 10) l)
FROM (SELECT funnel_day(min(created_at)) AS first, funnel_day(now()) + 1 AS stop
      FROM funnel_leads WHERE NOT merged) d
"""


@dataclass(frozen=True)
class Stored:
    """Some ids and emails of the loaded leads, to ask for, and how many rows each table got."""

    ids: list[uuid.UUID]
    emails: list[str]
    count: int
    load_s: float
    rows: dict[str, int] = field(default_factory=dict)
    funnel_cells_s: float | None = None
    """How long after the load the funnel's cells were caught up (None: not within the timeout)."""


def _account(company: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_DNS, f"company{company}.example")


class _Batch:
    """The rows of a run of leads, per table, ready to COPY."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.rows: dict[tuple[str, str], list[tuple[Any, ...]]] = {table: [] for table in COPY_COLUMNS}
        self.previous: uuid.UUID | None = None

    def later(self, moment: datetime, hours: float) -> datetime:
        return min(moment + timedelta(hours=hours), self.now)

    def lead(self, n: int, count: int) -> tuple[uuid.UUID, str]:
        """One lead as each service stores it; answer its id and email."""
        rng = self.rng
        lead_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        company = n % COMPANIES
        email = f"lead{n}.{lead_id.hex[:6]}@company{company}.example"
        created = self.now - SPREAD * (1 - n / max(count, 1))
        profile = orjson.dumps(
            {
                "first_name": "Ada",
                "last_name": f"Lovelace{n}",
                "email": email,
                "company": f"Company {company}",
                "company_domain": f"company{company}.example",
                "country": rng.choice(("DE", "US", "GB", "FR", "BR")),
                "industry": rng.choice(INDUSTRIES),
                "company_size": rng.randint(1, 5000),
                "seniority": rng.choice(("c_level", "vp", "manager", "individual")),
            }
        ).decode()
        status, category, _ = rng.choices(STATUSES, weights=[w for _, _, w in STATUSES])[0]
        owner = rng.choice(OWNERS)
        channel, source, _ = rng.choices(SOURCES, weights=[w for _, _, w in SOURCES])[0]
        campaign = rng.choice(CAMPAIGNS)
        # About one lead in ten is the same person as the lead before and was merged into it.
        merged_into = self.previous if self.previous and rng.random() < 0.1 else None
        self.previous = lead_id
        self.rows["intake", "leads"].append((lead_id, email, profile, created, merged_into))
        self.rows["intake", "touches"].append(
            (
                lead_id,
                channel.value,
                source,
                f"bulk-{n}",
                orjson.dumps({"utm_campaign": campaign} if campaign else {}).decode(),
                created,
                created,
            )
        )
        self.rows["qualification", "leads"].append((lead_id, status, category, profile, owner, created))
        self.history(lead_id, status, category, created)
        if status == "converted" or (status == "qualified" and rng.random() < 0.47):
            self.opportunity(lead_id, email, company, owner, source, campaign, created)
        if category in ("unqualified", "archived") or (status == "open" and rng.random() < 0.5):
            self.enrollment(lead_id, status, created)
        return lead_id, email

    def history(self, lead_id: uuid.UUID, status: str, category: str, created: datetime) -> None:
        reasons = DISQUALIFIED_REASONS.get(status)
        steps = [*EARLIER_STEPS[status], (status, category, self.rng.choice(reasons) if reasons else None)]
        at, previous = created, None
        for to_status, to_category, reason in steps:
            self.rows["qualification", "status_history"].append(
                (lead_id, previous, to_status, to_category, "bulk load", "bench", at, reason)
            )
            at, previous = self.later(at, self.rng.expovariate(1 / 24)), to_status

    def opportunity(
        self,
        lead_id: uuid.UUID,
        email: str,
        company: int,
        owner: str | None,
        source: str,
        campaign: str | None,
        created: datetime,
    ) -> None:
        rng = self.rng
        account, contact = _account(company), uuid.uuid4()
        opened = self.later(created, rng.uniform(1, 72))
        stage, probability, forecast_category, closed, won, _ = rng.choices(
            STAGES, weights=[s[-1] for s in STAGES]
        )[0]
        closed_at = self.later(opened, 24 * rng.randint(3, 180)) if closed else None
        close_date: date = (
            closed_at.date() if closed_at else (opened + timedelta(days=rng.randint(30, 150))).date()
        )
        amount = Decimal(f"{rng.randint(5_000, 120_000)}.{rng.choice(('00', '50'))}")
        self.rows["opportunity", "contacts"].append(
            (contact, account, email, lead_id, email, owner, source, campaign)
        )
        self.rows["opportunity", "converted_leads"].append(
            (lead_id, account, contact, source, campaign, opened)
        )
        self.rows["opportunity", "opportunities"].append(
            (
                uuid.uuid4(),
                lead_id,
                account,
                contact,
                f"Company {company} - deal",
                stage,
                probability,
                forecast_category,
                amount,
                "default",
                close_date,
                owner,
                source,
                campaign,
                1,
                1,
                closed,
                won,
                "competitor" if closed and not won else None,
                opened,
                closed_at,
            )
        )

    def enrollment(self, lead_id: uuid.UUID, status: str, created: datetime) -> None:
        rng = self.rng
        started = self.later(created, rng.uniform(1, 48))
        state = rng.choices(ENROLLMENT_STATUSES, weights=[w for _, w in ENROLLMENT_STATUSES])[0][0]
        engaged = self.later(started, 24 * rng.randint(1, 20)) if rng.random() < 0.3 else None
        ended = self.later(started, 24 * rng.randint(5, 60)) if state != "active" else None
        exhausted_next = rng.choice(("archive", "move")) if state == "exhausted" else None
        # No exhaust_at: the scheduler leaves the stored enrollments alone while the queries are timed.
        self.rows["nurture", "enrollments"].append(
            (
                uuid.uuid4(),
                lead_id,
                rng.choice(TRACKS[status if status in TRACKS else "unqualified"]),
                1,
                "disqualified",
                state,
                started,
                15 if engaged else 0,
                engaged,
                rng.randint(0, 4),
                1 if rng.random() < 0.2 else 0,
                ended,
                state if ended else None,
                exhausted_next,
                "newsletter" if exhausted_next == "move" else None,
            )
        )


async def bulk_load(
    stack: TestStack, count: int, chunk: int = 50_000, seed: int = 11, cells_timeout_s: float = 600.0
) -> Stored:
    """COPY `count` leads into every service's tables, as the pipeline would have left them, then VACUUM, then
    wait (up to cells_timeout_s) until qualification's job has caught up with the funnel's cells.

    Each lead gets its intake profile and first touch, its qualification status and history; about 17% also
    get an opportunity (with account, contact and conversion) and about 50% a nurture enrollment.
    """
    conns = {s: await asyncpg.connect(stack.dsn(s), server_settings={"search_path": s}) for s in SERVICES}
    rng = random.Random(seed)
    batch = _Batch(rng, datetime.now(UTC))
    ids: list[uuid.UUID] = []
    emails: list[str] = []
    rows = {f"{service}.{table}": 0 for service, table in COPY_COLUMNS}
    started = time.perf_counter()
    try:

        async def copy(service: str, table: str, records: Sequence[tuple[Any, ...]]) -> None:
            columns = COPY_COLUMNS.get((service, table))
            await conns[service].copy_records_to_table(
                table, schema_name=service, columns=columns, records=records
            )
            rows[f"{service}.{table}"] = rows.get(f"{service}.{table}", 0) + len(records)

        accounts = [
            (_account(c), f"Company {c}", f"company{c}.example", f"company {c}") for c in range(COMPANIES)
        ]
        await conns["opportunity"].copy_records_to_table(
            "accounts",
            schema_name="opportunity",
            columns=["id", "name", "domain", "name_key"],
            records=accounts,
        )
        rows["opportunity.accounts"] = len(accounts)

        async def flush() -> None:
            for (service, table), records in batch.rows.items():
                if records:
                    await copy(service, table, records)
                    records.clear()

        for n in range(count):
            lead_id, email = batch.lead(n, count)
            if rng.random() < 2000 / max(count, 1):
                ids.append(lead_id)
                emails.append(email)
            if (n + 1) % chunk == 0:
                await flush()
        await flush()
        for service, table in {*COPY_COLUMNS, *DERIVED}:
            await conns[service].execute(f"VACUUM ANALYZE {service}.{table}")
        load_s = time.perf_counter() - started
        # qualification's background job keeps the funnel's cells: time the endpoint once it has caught up
        caught_up_s: float | None = None
        waited = 0.0
        while (waited := time.perf_counter() - started - load_s) < cells_timeout_s:
            if await conns["qualification"].fetchval(FUNNEL_CELLS_CAUGHT_UP):
                caught_up_s = waited
                break
            await asyncio.sleep(0.5)
        print(
            f"queries: funnel cells caught up {waited:.1f} s after the load"
            if caught_up_s is not None
            else f"queries: funnel cells not caught up after {cells_timeout_s:.0f} s",
            file=sys.stderr,
        )
    finally:
        for conn in conns.values():
            await conn.close()
    return Stored(ids or [uuid.uuid4()], emails or ["nobody@example.com"], count, load_s, rows, caught_up_s)


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
    Probe("intake", "kpi", "/v1/kpis/sources"),
    Probe("qualification", "kpi", "/v1/kpis/funnel"),
    Probe("opportunity", "list", "/v1/opportunities?limit=50"),
    Probe("opportunity", "kpi", "/v1/pipeline"),
    Probe("opportunity", "kpi", "/v1/kpis"),
    Probe("opportunity", "kpi", "/v1/kpis?by=campaign"),
    Probe("opportunity", "kpi", "/v1/forecast"),
    Probe("opportunity", "kpi", "/v1/forecast?period=quarter"),
    Probe("nurture", "kpi", "/v1/kpis/tracks"),
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
            if probe.path == "/v1/kpis/funnel":
                entry["cells_caught_up_s"] = stored.funnel_cells_s
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
