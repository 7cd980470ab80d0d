"""Intake's lead list as a console browses it: searched, sorted, keyset-paged, and exported as CSV."""

from __future__ import annotations

import csv
import io
import uuid

from .conftest import Intake

TAG = uuid.uuid4().hex[:8]
PEOPLE = [
    ("Ines", "Duarte", "Oporto Tiles"),
    ("Bram", "Akkerman", "Delft Blue"),
    ("Chiara", "Moretti", "Murano"),
]


async def tagged_leads(intake: Intake) -> None:
    for n, (first, last, company) in enumerate(PEOPLE):
        response = await intake.client.post(
            "/v1/leads",
            json={
                "first_name": first,
                "last_name": last,
                "email": f"{first.lower()}.{TAG}@{company.split()[0].lower()}.example",
                "company": f"{company} {TAG}",
                "job_title": "-1+1" if first == "Bram" else "Buyer",
                "source_system": "website",
                "source_id": f"browse-{TAG}-{n}",
            },
            headers=intake.auth("write"),
        )
        assert response.status_code == 202, response.text
    await intake.drain()


async def test_leads_are_searched_by_company_and_sorted_by_last_name_either_way_a_page_at_a_time(
    intake: Intake,
) -> None:
    await tagged_leads(intake)
    read = intake.auth("read")
    first = await intake.client.get(
        "/v1/leads", params={"q": TAG, "sort": "last_name", "limit": 2}, headers=read
    )
    assert first.status_code == 200, first.text
    assert [i["profile"]["last_name"] for i in first.json()["items"]] == ["Akkerman", "Duarte"]
    rest = await intake.client.get(
        "/v1/leads",
        params={"q": TAG, "sort": "last_name", "limit": 2, "cursor": first.json()["next_cursor"]},
        headers=read,
    )
    assert [i["profile"]["last_name"] for i in rest.json()["items"]] == ["Moretti"]
    assert rest.json()["next_cursor"] is None
    backwards = await intake.client.get("/v1/leads", params={"q": TAG, "sort": "-company"}, headers=read)
    assert [i["profile"]["first_name"] for i in backwards.json()["items"]] == ["Ines", "Chiara", "Bram"]
    one = await intake.client.get("/v1/leads", params={"q": f"MURANO {TAG}"}, headers=read)
    assert [i["profile"]["first_name"] for i in one.json()["items"]] == ["Chiara"]


async def test_a_searched_lead_list_comes_as_csv_by_format_or_accept_header(intake: Intake) -> None:
    await tagged_leads(intake)
    params = {"q": TAG, "sort": "last_name"}
    by_format = await intake.client.get(
        "/v1/leads", params={**params, "format": "csv"}, headers=intake.auth("read")
    )
    by_accept = await intake.client.get(
        "/v1/leads", params=params, headers={**intake.auth("read"), "Accept": "text/csv"}
    )
    assert by_format.status_code == 200, by_format.text
    assert by_format.headers["content-type"].startswith("text/csv")
    assert by_accept.text == by_format.text
    rows = list(csv.DictReader(io.StringIO(by_format.text)))
    # Each lead was submitted twice (once per test): one live lead per person, updated by the second.
    assert [r["last_name"] for r in rows] == ["Akkerman", "Duarte", "Moretti"]
    assert rows[0]["job_title"] == "'-1+1"
    assert rows[0]["company"] == f"Delft Blue {TAG}"
