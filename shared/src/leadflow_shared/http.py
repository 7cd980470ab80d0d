"""HTTP basics every service shares: bounded bodies, bearer auth with scopes, health, metrics, correlation
ids, errors."""

from __future__ import annotations

import hmac
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

import structlog
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, params, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope

from leadflow_shared.bounds import MAX_NAME, Moment, SafeText
from leadflow_shared.edge import DEFAULT_MAX_BODY_BYTES, BodyGuard, is_json_type
from leadflow_shared.metrics import REQUESTS_REFUSED
from leadflow_shared.outbox import EventTooLarge
from leadflow_shared.pagination import BadCursor
from leadflow_shared.settings import SCOPE_RANK, Scope
from leadflow_shared.tracing import TracingMiddleware

log = structlog.get_logger(__name__)

_bearer = HTTPBearer(auto_error=False)

TextFilter = Annotated[SafeText | None, Query(max_length=MAX_NAME)]
"""An optional text query filter: bounded, and without the NUL character PostgreSQL refuses."""

MomentFilter = Annotated[Moment | None, Query()]
"""An optional time query filter between 1900 and 9000, so window arithmetic and the database cope."""


class Problem(BaseModel):
    """One field of a request and what is wrong with it."""

    field: str
    message: str


class ErrorAnswer(BaseModel):
    """What went wrong, in words; a few refusals give a structured detail instead."""

    detail: str | dict[str, Any]


class InvalidRequest(ErrorAnswer):
    """A refused request; `errors` names each field when the request's shape was wrong."""

    errors: list[Problem] | None = None


class Liveness(BaseModel):
    """The process answers."""

    status: Literal["live"]


class Readiness(BaseModel):
    """Whether each dependency answers; 503 while any does not."""

    status: Literal["ready", "not ready"]
    checks: dict[str, bool]


_ANSWERS: dict[int, tuple[type[BaseModel], str]] = {
    400: (ErrorAnswer, "The request cannot be read"),
    401: (ErrorAnswer, "No bearer token, or one this service does not know"),
    403: (ErrorAnswer, "The token lacks the scope this route needs"),
    404: (ErrorAnswer, "Nothing with that id"),
    409: (ErrorAnswer, "The change conflicts with the current state"),
    410: (ErrorAnswer, "It was valid once and no longer is (an expired link)"),
    413: (ErrorAnswer, "The body is over the size limit"),
    415: (ErrorAnswer, "The body's media type is not one this route reads"),
    422: (InvalidRequest, "The request is invalid; the detail names each problem"),
    503: (ErrorAnswer, "A dependency or a setting is missing; retry later"),
}

BEARER_ANSWERS = (401, 403)
"""What every bearer-authenticated route may answer besides its own codes."""


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` for error codes a route can answer, each with the body it carries."""
    return {code: {"model": _ANSWERS[code][0], "description": _ANSWERS[code][1]} for code in codes}


class Principal:
    """Who called: the token's scopes."""

    def __init__(self, scopes: set[Scope]) -> None:
        self.scopes = scopes

    def has(self, scope: Scope) -> bool:
        """Answer whether any scope held includes the one asked for."""
        return any(SCOPE_RANK[s] >= SCOPE_RANK[scope] for s in self.scopes)


def require(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits a bearer token holding the scope (admin includes write includes read)."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        tokens: dict[str, list[Scope]] = request.app.state.api_tokens
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token: send 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        scopes: list[Scope] | None = None
        for token, token_scopes in tokens.items():
            if hmac.compare_digest(token.encode(), credentials.credentials.encode()):
                scopes = token_scopes
        if scopes is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "unknown bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        principal = Principal(set(scopes))
        if not principal.has(scope):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this token lacks the '{scope}' scope")
        return principal

    return check


ReadAccess = Annotated[Principal, Depends(require(Scope.READ))]
WriteAccess = Annotated[Principal, Depends(require(Scope.WRITE))]
AdminAccess = Annotated[Principal, Depends(require(Scope.ADMIN))]

ReadyCheck = Callable[[], Awaitable[dict[str, bool]]]

CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_REQUEST_HEADERS = ("Authorization", "Content-Type", "Accept", "X-Correlation-ID")


async def json_content_type(request: Request) -> None:
    """Refuse a body that is not JSON on a route that reads its body as JSON (415)."""
    body_field = getattr(request.scope.get("route"), "body_field", None)
    if body_field is None or isinstance(body_field.field_info, params.Form):
        return
    given = request.headers.get("content-type", "")
    if is_json_type(given) or not await request.body():
        return
    REQUESTS_REFUSED.labels(request.app.state.service, "content_type").inc()
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        f"content type must be application/json, not {given.split(';')[0].strip() or 'missing'}",
    )


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the OpenAPI document lists for the template this path fits."""
    methods: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {method.upper() for method in operations if method.upper() in _HTTP_METHODS}
    return sorted(methods)


_HTTP_METHODS = {"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"}


def _document_body_refusals(spec: dict[str, Any]) -> None:
    """List on every route that reads a body what the edge answers before the route runs."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "ErrorAnswer", ErrorAnswer.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    refusals = {
        "400": "The body cannot be decoded (not UTF-8, not parseable)",
        "413": _ANSWERS[413][1],
        "415": _ANSWERS[415][1],
    }
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            for code, description in refusals.items():
                operation["responses"].setdefault(
                    code,
                    {
                        "description": description,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorAnswer"}}
                        },
                    },
                )


class _Cors(CORSMiddleware):
    """Starlette's CORS, except that a preflight from an origin not allowed gets no CORS header at all."""

    def preflight_response(self, request_headers: Headers) -> Response:
        """Refuse an unknown origin's preflight bare (400); answer an allowed one as Starlette does."""
        if not self.is_allowed_origin(request_headers["origin"]):
            return PlainTextResponse("Disallowed CORS origin", status_code=400)
        return super().preflight_response(request_headers)

    async def simple_response(
        self, scope: AsgiScope, receive: Receive, send: Send, request_headers: Headers
    ) -> None:
        """Answer an unknown origin without CORS headers; an allowed one with them."""
        origin = request_headers.get("origin")
        if origin is None or not self.is_allowed_origin(origin):
            await self.app(scope, receive, send)
            return
        await super().simple_response(scope, receive, send, request_headers)


def create_app(
    *,
    title: str,
    description: str,
    api_tokens: dict[str, list[Scope]],
    ready_check: ReadyCheck,
    lifespan: Any = None,
    service: str = "",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_limits: Mapping[str, int] | None = None,
    cors_origins: Sequence[str] = (),
    cors_allow_credentials: bool = False,
) -> FastAPI:
    """A FastAPI app with bounded bodies, health, readiness, metrics, auth state, correlation ids and 4xx
    messages; body_limits raises the limit for single paths; cors_origins may call from browsers."""
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(json_content_type)],
    )
    app.state.api_tokens = api_tokens
    app.state.service = service or title
    # Added before the correlation middleware, so it runs inside it and its refusals carry the id too.
    app.add_middleware(
        BodyGuard, service=app.state.service, max_body_bytes=max_body_bytes, path_limits=body_limits or {}
    )
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """The OpenAPI document, with FastAPI's own 422 body replaced by the one invalid_request answers."""
        if app.openapi_schema is None:
            spec = generate_openapi()
            schemas = spec.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                body = InvalidRequest.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(body.pop("$defs", {}))
                schemas["HTTPValidationError"] = body
                schemas.pop("ValidationError", None)
            _document_body_refusals(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.middleware("http")
    async def correlation(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        correlation_id = request.headers.get("x-correlation-id") or str(uuid.uuid4())
        request.state.correlation_id = correlation_id
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
        try:
            response = await call_next(request)
        except Exception:
            log.exception("unhandled error", path=request.url.path)
            response = JSONResponse({"detail": "internal error"}, status_code=500)
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")
        response.headers["X-Correlation-ID"] = correlation_id
        return response

    # A server span per request when the runtime traces (an OTLP endpoint is set); a pass-through otherwise.
    app.add_middleware(TracingMiddleware)

    if cors_origins:
        if cors_allow_credentials and "*" in cors_origins:
            raise ValueError("CORS credentials must not be allowed for the '*' origin")
        # Outermost, so a preflight is answered before the body guard and routing, and every answer (a 413
        # or a 401 included) carries the headers a browser needs to read it.
        app.add_middleware(
            _Cors,
            allow_origins=list(cors_origins),
            allow_credentials=cors_allow_credentials,
            allow_methods=list(CORS_METHODS),
            allow_headers=list(CORS_REQUEST_HEADERS),
            expose_headers=["X-Correlation-ID", "X-Next-Cursor"],
            max_age=600,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"] if p != "body") or "body", "message": err["msg"]}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return JSONResponse({"detail": f"invalid request: {summary}", "errors": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            # Starlette names only the first route on the path; a path served by GET and PUT routes
            # must answer with both, or a client cannot tell what the path takes.
            allowed = _allowed_methods(app, request.url.path)
            return JSONResponse(
                {"detail": exc.detail}, status_code=405, headers={"Allow": ", ".join(allowed)}
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(EventTooLarge)
    async def too_large_to_publish(request: Request, exc: EventTooLarge) -> JSONResponse:
        # Refused before anything is stored: the event could never be published.
        return JSONResponse({"detail": str(exc), "limit_bytes": exc.limit}, status_code=413)

    @app.exception_handler(BadCursor)
    async def bad_cursor(request: Request, exc: BadCursor) -> JSONResponse:
        return JSONResponse({"detail": f"cursor: {exc}"}, status_code=422)

    @app.get("/health/live", tags=["health"])
    async def live() -> Liveness:
        """The process runs and answers."""
        return Liveness(status="live")

    @app.get(
        "/health/ready",
        tags=["health"],
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "A dependency does not answer"}},
    )
    async def ready() -> JSONResponse:
        """The database and Kafka answer and the consumers run."""
        checks = await ready_check()
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503
        )

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    )
    async def prometheus() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
