"""Every app's entrance refuses oversized bodies, wrong content types and unbounded JSON before its routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel

from leadflow_shared.http import WriteAccess, create_app

TOKEN = "write-token-for-the-entrance-tests"
LIMIT = 4096
UPLOAD_LIMIT = 64 * 1024
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}

router = APIRouter()
reached: list[str] = []


class Lead(BaseModel):
    """A small JSON body."""

    first_name: str
    custom_fields: dict[str, Any] = {}


@router.post("/leads", status_code=202)
async def submit(lead: Lead, _: WriteAccess) -> dict[str, str]:
    reached.append("leads")
    return {"status": "accepted", "first_name": lead.first_name}


@router.get("/settings")
async def read_settings(_: WriteAccess) -> dict[str, str]:
    return {"mode": "on"}


@router.put("/settings")
async def replace_settings(lead: Lead, _: WriteAccess) -> dict[str, str]:
    return {"mode": lead.first_name}


@router.post("/webhooks/salesforce")
async def form_webhook(request: Request) -> dict[str, int]:
    reached.append("webhook")
    return {"bytes": len(await request.body())}


@router.post("/upload")
async def upload(
    file: Annotated[UploadFile, File()], _: WriteAccess, channel: Annotated[str, Form()] = "trade_show"
) -> dict[str, Any]:
    reached.append("upload")
    return {"bytes": len(await file.read()), "channel": channel}


async def _ready() -> dict[str, bool]:
    return {"database": True}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        title="entrance",
        description="test",
        api_tokens={TOKEN: ["write"]},  # type: ignore[list-item]
        ready_check=_ready,
        max_body_bytes=LIMIT,
        body_limits={"/upload": UPLOAD_LIMIT},
    )
    app.include_router(router)
    reached.clear()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://entrance.test") as c:
        yield c


def lead_json(padding: int = 0) -> bytes:
    return b'{"first_name": "Dana", "custom_fields": {"note": "' + b"x" * padding + b'"}}'


async def test_a_body_within_the_limit_reaches_the_route_intact(client: httpx.AsyncClient) -> None:
    response = await client.post("/leads", content=lead_json(LIMIT - 60), headers={**JSON, **AUTH})
    assert response.status_code == 202, response.text
    assert response.json()["first_name"] == "Dana"
    assert reached == ["leads"]


@pytest.mark.parametrize("headers", [{}, AUTH], ids=["unauthenticated", "authenticated"])
async def test_a_declared_oversized_body_is_refused_with_413_naming_the_limit_before_auth(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/leads", content=lead_json(LIMIT), headers={**JSON, **headers})
    assert response.status_code == 413
    assert response.json() == {"detail": f"request body exceeds {LIMIT} bytes"}
    assert response.headers["connection"] == "close"
    assert response.headers["x-correlation-id"]
    assert reached == []


async def test_a_streamed_body_without_content_length_is_cut_off_once_it_passes_the_limit(
    client: httpx.AsyncClient,
) -> None:
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while pulled < 1000:
            pulled += 1
            yield b"x" * 1024

    response = await client.post("/webhooks/salesforce", content=endless(), headers=FORM_HEADERS)
    assert response.status_code == 413
    assert response.json() == {"detail": f"request body exceeds {LIMIT} bytes"}
    assert pulled == LIMIT // 1024 + 1
    assert reached == []


async def test_a_path_with_its_own_limit_takes_a_larger_upload_and_still_refuses_beyond_it(
    client: httpx.AsyncClient,
) -> None:
    csv = b"email,first_name\n" + b"dana@acme.example,Dana\n" * 1000
    accepted = await client.post("/upload", files={"file": ("leads.csv", csv)}, headers=AUTH)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"bytes": len(csv), "channel": "trade_show"}
    refused = await client.post("/upload", files={"file": ("leads.csv", csv * 3)}, headers=AUTH)
    assert refused.status_code == 413
    assert refused.json() == {"detail": f"request body exceeds {UPLOAD_LIMIT} bytes"}


FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ("[" * 40 + "]" * 40, "[0]" * 32, "nested deeper than 32 levels"),
        (
            '{"first_name": "Dana", "custom_fields": {"n": 18446744073709551616}}',
            "custom_fields.n",
            "integer outside the signed 64-bit range",
        ),
        ('{"first_name": "Da\\u0000na"}', "first_name", "string contains a NUL character (\\u0000)"),
        ('{"first_name": "Dana \\ud83e"}', "first_name", "string contains a lone surrogate (\\ud83e)"),
    ],
    ids=["depth", "int-2^64", "nul", "lone-surrogate"],
)
async def test_json_breaking_a_bound_is_a_422_naming_the_problem_and_its_path(
    client: httpx.AsyncClient, body: str, field: str, message: str
) -> None:
    response = await client.post("/leads", content=body.encode(), headers={**JSON, **AUTH})
    assert response.status_code == 422
    assert response.json() == {
        "detail": f"invalid request: {field}: {message}",
        "errors": [{"field": field, "message": message}],
    }
    assert reached == []


async def test_json_sent_to_a_webhook_is_held_to_the_same_bounds(client: httpx.AsyncClient) -> None:
    response = await client.post("/webhooks/salesforce", content=b'{"email": "\\u0000"}', headers=JSON)
    assert response.status_code == 422
    assert reached == []


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        (FORM_HEADERS, "application/x-www-form-urlencoded"),
        ({"Content-Type": "text/plain"}, "text/plain"),
        ({}, "missing"),
    ],
    ids=["form", "text", "missing"],
)
async def test_a_json_route_refuses_another_content_type_with_415(
    client: httpx.AsyncClient, headers: dict[str, str], named: str
) -> None:
    response = await client.post("/leads", content=b'{"first_name": "Dana"}', headers={**headers, **AUTH})
    assert response.status_code == 415
    assert response.json() == {"detail": f"content type must be application/json, not {named}"}
    assert reached == []


async def test_a_json_subtype_with_a_charset_is_json(client: httpx.AsyncClient) -> None:
    headers = {"Content-Type": "application/vnd.leadflow+json; charset=utf-8", **AUTH}
    response = await client.post("/leads", content=b'{"first_name": "Dana"}', headers=headers)
    assert response.status_code == 202, response.text


async def test_a_form_encoded_webhook_still_reaches_its_route(client: httpx.AsyncClient) -> None:
    body = b"first_name=Dana&email=dana%40acme.example"
    response = await client.post("/webhooks/salesforce", content=body, headers=FORM_HEADERS)
    assert response.status_code == 200
    assert response.json() == {"bytes": len(body)}


async def test_invalid_json_is_still_answered_by_the_route_as_before(client: httpx.AsyncClient) -> None:
    response = await client.post("/leads", content=b'{"first_name": ', headers={**JSON, **AUTH})
    assert response.status_code == 422
    assert "JSON decode error" in response.text


async def test_a_method_no_route_takes_is_answered_with_every_method_the_path_serves(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete("/settings", headers=AUTH)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PUT"


async def test_other_http_errors_keep_their_status_detail_and_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/settings")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "missing bearer token" in response.json()["detail"]


async def test_the_openapi_document_lists_the_entrance_refusals_on_every_route_with_a_body(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"400", "413", "415", "422"} <= set(paths["/settings"]["put"]["responses"])
    assert "400" not in paths["/settings"]["get"]["responses"]
