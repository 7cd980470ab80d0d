"""HTTP basics every service shares: bounded bodies, bearer auth with scopes, health, metrics, correlation
ids, errors."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

import structlog
from fastapi import Depends, FastAPI, HTTPException, Request, Response, params, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from leadflow_shared.edge import DEFAULT_MAX_BODY_BYTES, BodyGuard, is_json_type
from leadflow_shared.metrics import REQUESTS_REFUSED
from leadflow_shared.outbox import EventTooLarge
from leadflow_shared.settings import SCOPE_RANK, Scope

log = structlog.get_logger(__name__)

_bearer = HTTPBearer(auto_error=False)


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
) -> FastAPI:
    """A FastAPI app with bounded bodies, health, readiness, metrics, auth state, correlation ids and 4xx
    messages; body_limits raises the limit for single paths (an upload)."""
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

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"] if p != "body") or "body", "message": err["msg"]}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return JSONResponse({"detail": f"invalid request: {summary}", "errors": problems}, status_code=422)

    @app.exception_handler(EventTooLarge)
    async def too_large_to_publish(request: Request, exc: EventTooLarge) -> JSONResponse:
        # Refused before anything is stored: the event could never be published.
        return JSONResponse({"detail": str(exc), "limit_bytes": exc.limit}, status_code=413)

    @app.get("/health/live", tags=["health"])
    async def live() -> dict[str, str]:
        """The process runs and answers."""
        return {"status": "live"}

    @app.get("/health/ready", tags=["health"])
    async def ready() -> JSONResponse:
        """The database and Kafka answer and the consumers run."""
        checks = await ready_check()
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503
        )

    @app.get("/metrics", tags=["health"])
    async def prometheus() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
