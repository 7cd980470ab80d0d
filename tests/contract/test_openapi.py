"""Each service's OpenAPI document is honest: typed answers, every error code, the 422 body it sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from leadflow_intake.entrypoints import export as intake_export
from leadflow_intake.entrypoints import http as intake_http
from leadflow_intake.entrypoints import people as intake_people
from leadflow_nurture.entrypoints import export as nurture_export
from leadflow_nurture.entrypoints import http as nurture_http
from leadflow_opportunity.entrypoints import export as opportunity_export
from leadflow_opportunity.entrypoints import http as opportunity_http
from leadflow_qualification.entrypoints import export as qualification_export
from leadflow_qualification.entrypoints import http as qualification_http
from leadflow_shared.http import InvalidRequest, create_app
from leadflow_shared.settings import Scope
from leadflow_shared.timeline import timeline_router

ROUTERS: dict[str, APIRouter] = {
    "intake": intake_http.router,
    "qualification": qualification_http.router,
    "opportunity": opportunity_http.router,
    "nurture": nurture_http.router,
}
# Routes a link authenticates, not a bearer token (RFC 8058: the recipient's mail client posts it).
PUBLIC_ROUTERS: dict[str, list[APIRouter]] = {"nurture": [nurture_http.unsubscribe_router]}
PUBLIC = {"GET /v1/unsubscribe/{token}", "POST /v1/unsubscribe/{token}"}
# The routes about a person (erasure, export) that each service serves beside its own.
PEOPLE: dict[str, list[APIRouter]] = {
    "intake": [intake_people.router, intake_export.router],
    "qualification": [qualification_export.router],
    "opportunity": [opportunity_export.router],
    "nurture": [nurture_export.router],
}
TOKEN = "contract-admin-token"
METHODS = ("get", "put", "post", "patch", "delete")


async def _ready() -> dict[str, bool]:
    return {"database": True}


def app_of(service: str) -> FastAPI:
    app = create_app(
        title=service, description="contract", api_tokens={TOKEN: [Scope.ADMIN]}, ready_check=_ready
    )
    app.include_router(ROUTERS[service])
    for router in [*PUBLIC_ROUTERS.get(service, []), *PEOPLE[service]]:
        app.include_router(router)
    app.include_router(timeline_router())
    return app


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def success(operation: dict[str, Any]) -> dict[str, Any]:
    codes = [code for code in operation["responses"] if code.startswith("2")]
    assert len(codes) == 1, codes
    answer: dict[str, Any] = operation["responses"][codes[0]]
    return answer


def schema_name(answer: dict[str, Any]) -> str | None:
    ref = answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


@pytest.mark.parametrize("service", ROUTERS)
def test_every_json_route_answers_a_named_model(service: str) -> None:
    spec = app_of(service).openapi()
    untyped = [
        name
        for name, operation in operations(spec)
        if "application/json" in success(operation).get("content", {})
        and schema_name(success(operation)) is None
    ]
    assert untyped == []


@pytest.mark.parametrize("service", ROUTERS)
def test_every_bearer_route_lists_401_and_403(service: str) -> None:
    spec = app_of(service).openapi()
    missing = [
        name
        for name, operation in operations(spec)
        if name.split()[1].startswith("/v1/")
        and name not in PUBLIC
        and not {"401", "403"} <= set(operation["responses"])
    ]
    assert missing == []
    assert all(
        not name.split()[1].startswith("/v1/") or ("security" in op) is (name not in PUBLIC)
        for name, op in operations(spec)
    )


@pytest.mark.parametrize("service", ROUTERS)
def test_every_route_that_reads_input_lists_422_with_the_handler_s_body(service: str) -> None:
    spec = app_of(service).openapi()
    reading = [
        (name, operation)
        for name, operation in operations(spec)
        if operation.get("parameters") or operation.get("requestBody")
    ]
    assert reading
    for name, operation in reading:
        assert schema_name(operation["responses"].get("422", {})) == "InvalidRequest", name


@pytest.mark.parametrize("service", ROUTERS)
def test_fastapi_s_own_422_schema_is_replaced_by_the_one_answered(service: str) -> None:
    schemas = app_of(service).openapi()["components"]["schemas"]
    assert "ValidationError" not in schemas
    if "HTTPValidationError" in schemas:
        assert schemas["HTTPValidationError"]["properties"] == schemas["InvalidRequest"]["properties"]


def test_readiness_documents_its_503() -> None:
    spec = app_of("intake").openapi()
    assert schema_name(spec["paths"]["/health/ready"]["get"]["responses"]["503"]) == "Readiness"


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("intake", "/v1/leads?limit=0"),
        ("qualification", "/v1/leads?limit=many"),
        ("opportunity", "/v1/opportunities?closing_before=someday"),
        ("nurture", "/v1/enrollments?state=asleep"),
    ],
)
async def test_an_invalid_query_is_answered_with_the_documented_422_body(service: str, path: str) -> None:
    transport = httpx.ASGITransport(app=app_of(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://contract.test") as client:
        response = await client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 422, response.text
    body = response.json()
    documented = InvalidRequest.model_json_schema()
    assert set(body) <= set(documented["properties"])
    assert set(documented.get("required", [])) <= set(body)
    answer = InvalidRequest.model_validate(body)
    assert answer.errors
    assert answer.errors[0].field in {"query.limit", "query.closing_before", "query.state"}
