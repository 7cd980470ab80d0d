"""What a console browses in opportunity: accounts and contacts lists, sorted and searched, as JSON or CSV,
and the account, contact and opportunity a converted lead became."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from leadflow_devstack.builders import profile, qualified
from leadflow_devstack.testing import TestStack, api_client
from leadflow_opportunity.adapters.config_store import ConfigStore
from leadflow_opportunity.entrypoints import http
from leadflow_opportunity.settings import OpportunitySettings
from leadflow_opportunity.use_cases import conversion
from leadflow_shared import browsing
from leadflow_shared.contracts.events import LeadQualified
from leadflow_shared.db import create_pool
from leadflow_shared.uow import UnitOfWorkFactory

STATE = {"config": ConfigStore()}

pytestmark = pytest.mark.service

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
RUN = uuid.uuid4().hex[:8]


@pytest_asyncio.fixture(scope="module")
async def pool(service_stack: TestStack) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_stack.dsn("opportunity"), "opportunity")
    yield pool
    await asyncio.wait_for(pool.close(), 10)


@pytest_asyncio.fixture(scope="module")
async def client(pool: asyncpg.Pool, service_stack: TestStack) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(service_stack, OpportunitySettings, [http.router], pool, state=STATE) as client:
        yield client


def buyer(first: str, last: str, company: str, amount: str) -> LeadQualified:
    """A head of operations at a company of this run, qualified with this budget, owned by Grace."""
    domain = f"{company.split()[0].lower()}-{RUN}.example"
    who = profile(
        first_name=first,
        last_name=last,
        email=f"{first.lower()}@{domain}",
        company=f"{company} {RUN}",
        company_domain=domain,
        job_title='=HYPERLINK("http://evil.example")' if first == "Mallory" else "Head of Operations",
    )
    fields = {"fit_score": 80.0, "budget_amount": Decimal(amount), "timeline_days": 30, "owner": "grace"}
    return qualified(fields, profile=who)


@pytest_asyncio.fixture(scope="module")
async def converted(pool: asyncpg.Pool, service_stack: TestStack) -> dict[str, Any]:
    """Four people at three companies, converted."""
    uow = UnitOfWorkFactory(pool, "opportunity", service_stack.topic_prefix)
    people = {
        "ada": buyer("Ada", "Lovelace", "Analytical Engines", "48000"),
        "charles": buyer("Charles", "Babbage", "Analytical Engines", "12000"),
        "grace": buyer("Grace", "Hopper", "Compilers Unlimited", "90000"),
        "mallory": buyer("Mallory", "Formula", "Zebra Spreadsheets", "5000"),
    }
    done: dict[str, Any] = {}
    for name, lead in people.items():
        async with uow() as u:
            done[name] = await conversion.convert_qualified(
                u, await ConfigStore().load(u.conn), None, lead, NOW
            )
        done[f"{name}-lead"] = lead.lead_id
    return done


async def test_accounts_are_listed_by_name_searched_and_paged_with_their_contact_counts(
    client: httpx.AsyncClient, converted: dict[str, Any]
) -> None:
    first = await client.get("/v1/accounts", params={"q": RUN, "limit": 2})
    assert first.status_code == 200, first.text
    names = [a["name"] for a in first.json()["items"]]
    assert names == [f"Analytical Engines {RUN}", f"Compilers Unlimited {RUN}"]
    assert first.json()["items"][0]["contacts"] == 2
    assert first.json()["items"][0]["open_opportunities"] == 2
    rest = await client.get(
        "/v1/accounts", params={"q": RUN, "limit": 2, "cursor": first.json()["next_cursor"]}
    )
    assert [a["name"] for a in rest.json()["items"]] == [f"Zebra Spreadsheets {RUN}"]
    assert rest.json()["next_cursor"] is None
    backwards = await client.get("/v1/accounts", params={"q": RUN, "sort": "-name"})
    assert [a["name"] for a in backwards.json()["items"]] == list(
        reversed([*names, f"Zebra Spreadsheets {RUN}"])
    )
    compilers = await client.get("/v1/accounts", params={"q": f"compilers-{RUN}.EXAMPLE"})
    assert [a["id"] for a in compilers.json()["items"]] == [str(converted["grace"].account_id)]


async def test_contacts_are_searched_by_name_or_account_sorted_and_filtered_by_account(
    client: httpx.AsyncClient, converted: dict[str, Any]
) -> None:
    by_name = await client.get("/v1/contacts", params={"q": RUN, "sort": "last_name"})
    assert by_name.status_code == 200, by_name.text
    assert [c["last_name"] for c in by_name.json()["items"]] == ["Babbage", "Formula", "Hopper", "Lovelace"]
    in_account = await client.get(
        "/v1/contacts", params={"account_id": str(converted["ada"].account_id), "sort": "-last_name"}
    )
    assert [c["first_name"] for c in in_account.json()["items"]] == ["Ada", "Charles"]
    hopper = await client.get(
        "/v1/contacts", params={"q": "HOPPER", "account_id": str(converted["grace"].account_id)}
    )
    assert [c["id"] for c in hopper.json()["items"]] == [str(converted["grace"].contact_id)]
    wildcard = await client.get("/v1/contacts", params={"q": f"%{RUN}"})
    assert wildcard.json()["items"] == []


async def test_a_list_pages_the_same_under_each_sort_and_refuses_a_cursor_of_another_sort(
    client: httpx.AsyncClient, converted: dict[str, Any]
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"q": RUN, "sort": "-account", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/contacts", params=params)).json()
        seen += [c["last_name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[0] == "Formula"
    assert sorted(seen) == ["Babbage", "Formula", "Hopper", "Lovelace"]
    first = (await client.get("/v1/contacts", params={"q": RUN, "sort": "last_name", "limit": 1})).json()
    other_sort = await client.get(
        "/v1/contacts", params={"sort": "created_at", "cursor": first["next_cursor"]}
    )
    forged = await client.get(
        "/v1/accounts", params={"cursor": browsing.encode("created_at", "yesterday", uuid.uuid4())}
    )
    assert other_sort.status_code == 422
    assert "sort" in other_sort.json()["detail"]
    assert forged.status_code == 422


async def test_a_filtered_list_comes_as_csv_with_formulas_defused(
    client: httpx.AsyncClient, converted: dict[str, Any]
) -> None:
    by_format = await client.get("/v1/contacts", params={"q": RUN, "sort": "last_name", "format": "csv"})
    by_accept = await client.get(
        "/v1/contacts", params={"q": RUN, "sort": "last_name"}, headers={"Accept": "text/csv"}
    )
    assert by_format.status_code == 200, by_format.text
    assert by_format.headers["content-type"].startswith("text/csv")
    assert by_accept.text == by_format.text
    rows = list(csv.DictReader(io.StringIO(by_format.text)))
    assert [r["last_name"] for r in rows] == ["Babbage", "Formula", "Hopper", "Lovelace"]
    assert rows[1]["job_title"] == '\'=HYPERLINK("http://evil.example")'
    paged = await client.get(
        "/v1/contacts", params={"q": RUN, "sort": "last_name", "format": "csv", "limit": 3}
    )
    assert len(list(csv.DictReader(io.StringIO(paged.text)))) == 3
    assert paged.headers["x-next-cursor"]
    deals = await client.get("/v1/opportunities", params={"q": RUN, "sort": "-amount", "format": "csv"})
    assert [r["amount"] for r in csv.DictReader(io.StringIO(deals.text))] == [
        "90000.00",
        "48000.00",
        "12000.00",
        "5000.00",
    ]


async def test_a_json_page_stays_within_500_rows_while_csv_takes_up_to_10000(
    client: httpx.AsyncClient,
) -> None:
    too_many = await client.get("/v1/accounts", params={"limit": 501})
    as_csv = await client.get("/v1/accounts", params={"limit": 501, "format": "csv"})
    beyond = await client.get("/v1/accounts", params={"limit": 10_001, "format": "csv"})
    assert too_many.status_code == 422
    assert as_csv.status_code == 200
    assert beyond.status_code == 422


async def test_opportunities_sort_by_amount_and_search_by_name(
    client: httpx.AsyncClient, converted: dict[str, Any]
) -> None:
    page = await client.get("/v1/opportunities", params={"q": RUN, "sort": "amount", "limit": 3})
    assert page.status_code == 200, page.text
    assert [Decimal(o["amount"]) for o in page.json()["items"]] == [
        Decimal(5000),
        Decimal(12000),
        Decimal(48000),
    ]
    rest = await client.get(
        "/v1/opportunities",
        params={"q": RUN, "sort": "amount", "limit": 3, "cursor": page.json()["next_cursor"]},
    )
    assert [Decimal(o["amount"]) for o in rest.json()["items"]] == [Decimal(90000)]


async def test_a_converted_lead_names_the_account_contact_and_opportunity_it_became(
    client: httpx.AsyncClient, converted: dict[str, Any]
) -> None:
    ada = converted["ada"]
    lead = await client.get(f"/v1/leads/{converted['ada-lead']}")
    assert lead.status_code == 200, lead.text
    body = lead.json()
    assert (body["account_id"], body["contact_id"], body["opportunity_id"]) == (
        str(ada.account_id),
        str(ada.contact_id),
        str(ada.opportunity_id),
    )
    assert body["opportunity_ids"] == [str(ada.opportunity_id)]
    assert (await client.get(f"/v1/leads/{uuid.uuid4()}")).status_code == 404
