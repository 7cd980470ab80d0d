"""Browsers may call a service only from the origins its settings name; a preflight passes the edge guards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsConfigDict

from leadflow_shared.http import ReadAccess, WriteAccess, create_app
from leadflow_shared.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "demo"


TOKEN = "read-token-for-the-cors-tests-1234"
CONSOLE = "http://127.0.0.1:8080"
STRANGER = "https://evil.example"
LIMIT = 2048

router = APIRouter()


class Lead(BaseModel):
    """A small JSON body."""

    first_name: str


@router.get("/v1/leads")
async def leads(_: ReadAccess) -> dict[str, list[str]]:
    return {"items": ["Dana Scully"]}


@router.post("/v1/leads", status_code=202)
async def submit(lead: Lead, _: WriteAccess) -> dict[str, str]:
    return {"first_name": lead.first_name}


async def _ready() -> dict[str, bool]:
    return {"database": True}


def _client(origins: Sequence[str], credentials: bool = False) -> httpx.AsyncClient:
    app = create_app(
        title="cors",
        description="test",
        api_tokens={TOKEN: ["read"]},  # type: ignore[list-item]
        ready_check=_ready,
        max_body_bytes=LIMIT,
        cors_origins=origins,
        cors_allow_credentials=credentials,
    )
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cors.test")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with _client([CONSOLE]) as c:
        yield c


def preflight(
    origin: str, method: str = "GET", headers: str = "authorization,x-correlation-id"
) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


async def test_a_preflight_from_an_allowed_origin_is_answered_with_the_headers_a_browser_needs(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options("/v1/leads", headers=preflight(CONSOLE))
    assert response.status_code in (200, 204), response.text
    assert response.headers["access-control-allow-origin"] == CONSOLE
    assert "GET" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "x-correlation-id" in allowed
    assert "access-control-allow-credentials" not in response.headers


async def test_a_preflight_from_an_unknown_origin_gets_no_cors_header_at_all(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options("/v1/leads", headers=preflight(STRANGER))
    assert response.status_code == 400
    assert cors_headers(response) == {}


async def test_a_preflight_for_a_post_with_a_large_declared_body_passes_the_body_guard(
    client: httpx.AsyncClient,
) -> None:
    # A preflight never carries the body; a declared length or a foreign content type must not refuse it.
    headers = {**preflight(CONSOLE, "POST", "authorization,content-type"), "Content-Type": "text/plain"}
    response = await client.options("/v1/leads", headers={**headers, "Content-Length": "0"})
    assert response.status_code in (200, 204), response.text
    assert response.headers["access-control-allow-origin"] == CONSOLE
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_an_allowed_origin_can_read_the_answer_and_its_correlation_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/v1/leads",
        headers={"Origin": CONSOLE, "Authorization": f"Bearer {TOKEN}", "X-Correlation-ID": "c-1"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == CONSOLE
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-correlation-id" in exposed
    assert "x-next-cursor" in exposed, "a CSV page names the next one in this header"
    assert response.headers["x-correlation-id"] == "c-1"


async def test_refusals_by_the_edge_still_carry_cors_headers_so_the_browser_can_show_them(
    client: httpx.AsyncClient,
) -> None:
    too_large = await client.post(
        "/v1/leads",
        content=b'{"first_name": "' + b"x" * LIMIT + b'"}',
        headers={"Origin": CONSOLE, "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    wrong_type = await client.post(
        "/v1/leads",
        content=b"first_name=Dana",
        headers={"Origin": CONSOLE, "Content-Type": "text/plain", "Authorization": f"Bearer {TOKEN}"},
    )
    assert too_large.status_code == 413
    assert wrong_type.status_code == 415
    assert too_large.headers["access-control-allow-origin"] == CONSOLE
    assert wrong_type.headers["access-control-allow-origin"] == CONSOLE


async def test_an_unknown_origin_or_none_gets_its_answer_without_cors_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/leads", headers={"Origin": STRANGER, "Authorization": f"Bearer {TOKEN}"})
    same_site = await client.get("/v1/leads", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert cors_headers(response) == {}
    assert same_site.status_code == 200
    assert cors_headers(same_site) == {}


async def test_without_configured_origins_no_response_carries_cors_headers() -> None:
    async with _client([]) as c:
        answer = await c.get("/v1/leads", headers={"Origin": CONSOLE, "Authorization": f"Bearer {TOKEN}"})
        refused = await c.options("/v1/leads", headers=preflight(CONSOLE))
    assert answer.status_code == 200
    assert cors_headers(answer) == {}
    assert cors_headers(refused) == {}


async def test_credentials_are_allowed_only_to_the_named_origins() -> None:
    async with _client([CONSOLE], credentials=True) as c:
        response = await c.options("/v1/leads", headers=preflight(CONSOLE))
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-allow-origin"] == CONSOLE


def test_an_app_refuses_credentials_for_every_origin() -> None:
    with pytest.raises(ValueError, match="credentials"):
        _client(["*"], credentials=True)


def test_settings_refuse_the_wildcard_origin_with_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://demo:pw@127.0.0.1/leadflow")
    monkeypatch.setenv("DEMO_CORS_ORIGINS", "*")
    monkeypatch.setenv("DEMO_CORS_ALLOW_CREDENTIALS", "true")
    with pytest.raises(ValidationError, match="'\\*' origin"):
        DemoSettings.load()


def test_origins_are_read_as_a_comma_separated_list_or_json_with_the_shared_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://demo:pw@127.0.0.1/leadflow")
    monkeypatch.setenv("LEADFLOW_CORS_ORIGINS", "http://127.0.0.1:8080, https://console.example.com")
    assert DemoSettings.load().cors_origins == ["http://127.0.0.1:8080", "https://console.example.com"]
    monkeypatch.setenv("DEMO_CORS_ORIGINS", '["https://crm.example.com:8443"]')
    assert DemoSettings.load().cors_origins == ["https://crm.example.com:8443"]


def test_no_origin_is_allowed_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://demo:pw@127.0.0.1/leadflow")
    monkeypatch.delenv("LEADFLOW_CORS_ORIGINS", raising=False)
    monkeypatch.delenv("DEMO_CORS_ORIGINS", raising=False)
    assert DemoSettings.load().cors_origins == []


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8080/console", "127.0.0.1:8080", "ftp://files.example"])
def test_an_origin_with_a_path_or_without_a_scheme_is_refused(
    monkeypatch: pytest.MonkeyPatch, origin: str
) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://demo:pw@127.0.0.1/leadflow")
    monkeypatch.setenv("DEMO_CORS_ORIGINS", origin)
    with pytest.raises(ValidationError, match="not an origin"):
        DemoSettings.load()
