"""HTTP intake under a fixed request rate: wrk with a Lua script when installed, else an asyncio generator."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from leadflow_bench.measure import percentiles

PATH = "/v1/leads"

LUA = r"""
-- wrk runs LuaJIT: its ffi gives a millisecond clock, so every request takes the next slot of one
-- schedule at the offered rate, whichever connection sends it (wrk alone is a closed-loop tool).
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_usec; } bench_timeval;
int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")
local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end
local interval = __INTERVAL__
local next_slot = 0
local counter = 0
local token = "__TOKEN__"
local path = "__PATH__"
local run = "__RUN__"
local companies = {"northwind-logistics.example", "contoso.example", "fabrikam-finance.example", "gmail.com"}
local countries = {"DE", "US", "GB", "BR", "NL"}
local needs = {"replace our spreadsheets", "no need", "faster dispatch planning"}

function delay()
  local now = now_ms()
  if next_slot < now then next_slot = now end
  local wait = next_slot - now
  next_slot = next_slot + interval
  return math.floor(wait)
end

function request()
  counter = counter + 1
  local n = tostring(counter) .. "-" .. tostring(math.random(1, 1000000000))
  local body = '{"first_name":"Ada","last_name":"Lovelace","email":"ada.' .. run .. n .. '@'
    .. companies[(counter % #companies) + 1] .. '","company":"Analytical Engines",'
    .. '"country":"' .. countries[(counter % #countries) + 1] .. '","industry":"software",'
    .. '"company_size":120,"job_title":"VP Engineering","channel":"web_form","source_system":"website",'
    .. '"source_id":"' .. run .. '-http-' .. n .. '",'
    .. '"answers":{"need":"' .. needs[(counter % #needs) + 1] .. '","authority":"yes",'
    .. '"budget":"EUR 40000","timeline":"this quarter"}}'
  return wrk.format("POST", path, {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token}, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write("BENCH_JSON " .. string.format(
    '{"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def wrk_available() -> bool:
    """Answer whether wrk is on the PATH."""
    return shutil.which("wrk") is not None


def run_wrk(
    url: str, token: str, run: str, rate: float, seconds: float, connections: int
) -> dict[str, object]:
    """wrk with its requests paced to one schedule at `rate` per second."""
    script = (
        LUA.replace("__TOKEN__", token)
        .replace("__PATH__", PATH)
        .replace("__RUN__", run)
        .replace("__INTERVAL__", repr(1000.0 / rate))
    )
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "post_lead.lua"
        lua.write_text(script)
        result = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "5s",
                "-s",
                str(lua),
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{result.stdout}\n{result.stderr}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    duration = raw["duration_us"] / 1e6
    return {
        "tool": "wrk (Lua, paced)",
        "offered_rate": rate,
        "requests": raw["requests"],
        "requests_per_s": round(raw["requests"] / duration, 1) if duration else 0.0,
        "non_2xx": raw["non_2xx"],
        "socket_errors": raw["socket_errors"],
        "ack_ms": {
            "p50": round(raw["p50_us"] / 1000, 2),
            "p90": round(raw["p90_us"] / 1000, 2),
            "p99": round(raw["p99_us"] / 1000, 2),
            "max": round(raw["max_us"] / 1000, 2),
        },
    }


def _body(run: str, n: int) -> dict[str, object]:
    return {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": f"ada.{run}.{n}@contoso.example",
        "company": "Analytical Engines",
        "country": ("DE", "US", "BR")[n % 3],
        "industry": "software",
        "company_size": 120,
        "job_title": "VP Engineering",
        "channel": "web_form",
        "source_system": "website",
        "source_id": f"{run}-http-{n}",
        "answers": {"need": "replace our spreadsheets", "authority": "yes", "budget": "EUR 40000"},
    }


async def run_asyncio(url: str, token: str, run: str, rate: float, seconds: float) -> dict[str, object]:
    """Open-loop load: a request is started at each tick whatever the earlier ones are doing."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=5.0
    ) as client:

        async def one(n: int) -> None:
            nonlocal errors
            started = time.perf_counter()
            try:
                response = await client.post(PATH, json=_body(run, n))
            except httpx.HTTPError:
                errors += 1
                return
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        total = int(rate * seconds)
        tasks: list[asyncio.Task[None]] = []
        started = time.monotonic()
        for n in range(total):
            ahead = started + n / rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    figures = percentiles(latencies)
    return {
        "tool": "asyncio + httpx (open loop)",
        "offered_rate": rate,
        "requests": total,
        "requests_per_s": round(total / elapsed, 1) if elapsed else 0.0,
        "non_2xx": sum(c for s, c in statuses.items() if not 200 <= s < 300),
        "socket_errors": errors,
        "ack_ms": {k: figures[k] for k in ("p50", "p95", "p99", "max")},
    }


async def run_http(
    url: str, token: str, run: str, rate: float, seconds: float, connections: int, tool: str
) -> dict[str, object]:
    """The webhook load with the tool asked for ('auto' prefers wrk)."""
    if tool == "wrk" or (tool == "auto" and wrk_available()):
        return await asyncio.to_thread(run_wrk, url, token, run, rate, seconds, connections)
    figures = await run_asyncio(url, token, run, rate, seconds)
    if tool == "auto":
        figures["tool"] = f"{figures['tool']}, wrk not installed"
    return figures
