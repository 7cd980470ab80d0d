"""Inputs that once reached PostgreSQL or date arithmetic and failed there are refused with 422."""

from __future__ import annotations

import base64

import pytest

from leadflow_shared import browsing, pagination

from .conftest import Intake

pytestmark = pytest.mark.service

SOMEONE = "8f1c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f"


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/leads", {"email": "ana\x00@example.com"}),
        ("/v1/leads", {"source": "google\x00ads"}),
        ("/v1/leads", {"since": "0001-01-01T00:00:00+14:00"}),
        ("/v1/leads", {"since": "9999-12-31T23:59:59-14:00"}),
        (
            "/v1/leads",
            {"cursor": cursor_of("0001-01-01T00:00:00+14:00|8f1c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f")},
        ),
        ("/v1/leads", {"cursor": cursor_of("2026-01-01T00:00:00|8f1c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f")}),
        ("/v1/leads", {"cursor": "not-a-cursor-at-all!"}),
        ("/v1/leads", {"cursor": "QUJD" * 200}),
        ("/v1/leads", {"cursor": browsing.encode("created_at", "0001-01-01T00:00:00+14:00", SOMEONE)}),
        ("/v1/leads", {"cursor": browsing.encode("created_at", "2026-01-01T00:00:00", SOMEONE)}),
        ("/v1/leads", {"cursor": browsing.encode("last_name", "Ada\x00", SOMEONE)}),
        ("/v1/leads", {"sort": "email"}),
        ("/v1/leads", {"q": "ada\x00"}),
        (
            "/v1/rejections",
            {"cursor": cursor_of("2026-01-01T00:00:00Z|8f1c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f")},
        ),
        ("/v1/rejections", {"cursor": pagination.encode_cursor("received_at", "2026-01-01T00:00:00Z", "x")}),
        (
            "/v1/rejections",
            {"cursor": pagination.encode_cursor("created_at", "2026-01-01T00:00:00Z", SOMEONE)},
        ),
        ("/v1/duplicates", {"cursor": pagination.encode_cursor("created_at", "yesterday", SOMEONE)}),
        ("/v1/kpis/sources", {"until": "0001-01-05T00:00:00Z"}),
        ("/v1/kpis/sources", {"since": "0001-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
        ("/v1/kpis/sources", {"until": "9999-12-31T23:59:59.999999-14:00"}),
        ("/v1/imports/8f1c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f", {"errors_after": str(2**31)}),
    ],
)
async def test_a_query_the_database_cannot_run_is_refused_with_422(
    intake: Intake, path: str, params: dict[str, str]
) -> None:
    response = await intake.client.get(path, params=params, headers=intake.auth("read"))
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


async def test_a_cursor_handed_out_still_pages_after_the_checks(intake: Intake) -> None:
    first = await intake.client.get("/v1/leads", params={"limit": 1}, headers=intake.auth("read"))
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"] or browsing.encode(
        "created_at", "2020-01-01T00:00:00+00:00", SOMEONE
    )
    second = await intake.client.get("/v1/leads", params={"cursor": cursor}, headers=intake.auth("read"))
    assert second.status_code == 200, second.text
    assert set(second.json()) == {"items", "next_cursor"}


async def test_an_import_campaign_name_with_a_nul_is_refused_before_it_is_stored(intake: Intake) -> None:
    response = await intake.client.post(
        "/v1/imports",
        files={"file": ("fair.csv", b"email\nana@example.com\n", "text/csv")},
        data={"campaign_name": "Logistics\x00Summit"},
        headers=intake.auth("write"),
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "ana\x00@example.com"},
        {"email": "ana@example.com", "source_system": "crm\x00"},
        {"email": "ana@example.com", "activity_id": "a\x00"},
        {"email": "ana@example.com", "occurred_at": "0001-01-01T00:00:00+14:00"},
    ],
)
async def test_an_activity_postgresql_cannot_store_is_refused_with_422(
    intake: Intake, fields: dict[str, str]
) -> None:
    activity = {"activity_type": "email_opened", "occurred_at": "2026-11-02T09:30:00Z", **fields}
    response = await intake.client.post("/v1/activities", json=activity, headers=intake.auth("write"))
    assert response.status_code == 422, response.text
