"""The web console's page-load times with many stored leads: the bench's bulk load, then headless Chromium
reloading the inbox (plain, filtered, searched, sorted) and a lead page, timed from navigation to drawn.

Run: `PYTHONPATH=bench .venv/bin/python -m leadflow_bench.console_load --leads 1000000` with the stack's env.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from leadflow_bench.queries import bulk_load
from leadflow_devstack.testing import console_running, free_port, new_test_stack

ROUTES = (
    ("inbox, newest first", "#/inbox", "inbox"),
    ("inbox, status qualified", "#/inbox?status=qualified", "inbox"),
    ("inbox, searched", "#/inbox?q=Company%2042", "inbox"),
    ("inbox, by source (intake's list)", "#/inbox?source=website", "inbox"),
    ("inbox, by fit score", "#/inbox?sort=-fit_score", "inbox"),
)


def _browser() -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def _drawn(driver: WebDriver, page: str) -> int:
    """Milliseconds from the navigation to the page drawn, once it is."""
    body = By.TAG_NAME, "body"
    WebDriverWait(driver, 120).until(lambda d: d.find_element(*body).get_attribute("data-ready") == page)
    return int(driver.find_element(*body).get_attribute("data-ready-at") or 0)


def measure(url: str, token: str, lead_id: str, loads: int) -> dict[str, Any]:
    """Each route loaded afresh `loads` times: the times and the rows shown."""
    driver = _browser()
    try:
        driver.get(url)
        _drawn(driver, "token")
        driver.find_element(By.ID, "token").send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "#sign-in button[type=submit]").click()
        _drawn(driver, "inbox")
        results: dict[str, Any] = {}
        for name, route, page in (*ROUTES, ("lead page", f"#/leads/{lead_id}", "leads")):
            times = []
            for _ in range(loads):
                driver.get(f"{url}/{route}")
                driver.refresh()
                times.append(_drawn(driver, page))
            rows = len(driver.find_elements(By.CSS_SELECTOR, "main table tbody tr"))
            results[name] = {"ms": times, "median_ms": statistics.median(times), "rows": rows}
        return results
    finally:
        driver.quit()


async def run(leads: int, loads: int) -> dict[str, Any]:
    """A stack of its own with `leads` bulk-loaded, the services and the console on it, then the timings."""
    stack = new_test_stack("cl")
    await stack.create()
    try:
        # Bulk-loaded enrollments fall due: their mail goes to a port nobody listens on, not to port 25.
        mail = {"nurture": {"NURTURE_SMTP_HOST": "127.0.0.1", "NURTURE_SMTP_PORT": str(free_port())}}
        with console_running(stack, mail) as console:
            started = time.monotonic()
            stored = await bulk_load(stack, leads)
            load_s = round(time.monotonic() - started, 1)
            timings = await asyncio.to_thread(
                measure, console.url, stack.tokens["admin"], str(stored.ids[0]), loads
            )
            return {"stored": stored.count, "load_s": load_s, "pages": timings}
    finally:
        await stack.destroy()


def main() -> None:
    """Print the timings as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--loads", type=int, default=5, help="fresh loads of each page")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.leads, args.loads)), indent=2))


if __name__ == "__main__":
    main()
