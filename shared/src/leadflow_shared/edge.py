"""The bounded HTTP entrance: body size and JSON bounds, checked before routing, auth and parsing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from leadflow_shared.json_bounds import MAX_DEPTH, parse_bounded
from leadflow_shared.metrics import REQUESTS_REFUSED

DEFAULT_MAX_BODY_BYTES = 1_048_576


def is_json_type(content_type: str) -> bool:
    """Whether a Content-Type header names JSON (application/json or any application/*+json)."""
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    json_subtype = subtype == "json" or subtype.endswith("+json")
    return message.get_content_maintype() == "application" and json_subtype


class BodyGuard:
    """Pure ASGI middleware: refuses a body over its limit while it streams in (413) and JSON breaking the
    bounds of json_bounds (422), before routing, authentication or parsing."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        path_limits: Mapping[str, int] | None = None,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes
        self.path_limits = dict(path_limits or {})
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body within its limit, check it, then hand the app the body as read."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k: v for k, v in scope["headers"] if k in _WANTED}
        if b"content-length" not in headers and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"], self.max_body_bytes)
        too_large = Refusal(413, "too_large", f"request body exceeds {limit} bytes")
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(send, too_large)
            return
        try:
            body = await _read_within(receive, limit)
        except _Disconnected:
            return
        if body is None:
            await self._refuse(send, too_large)
            return
        if body:
            refusal = self._check(headers.get(b"content-type", b"").decode("latin-1"), body)
            if refusal is not None:
                await self._refuse(send, refusal)
                return
        await self.app(scope, _replay(body, receive), send)

    def _check(self, content_type: str, body: bytes) -> Refusal | None:
        if content_type and is_json_type(content_type):
            problem = parse_bounded(body, self.max_depth)
            if problem is None:
                return None
            return Refusal(
                422,
                "json_bounds",
                f"invalid request: {problem.field}: {problem.message}",
                [{"field": problem.field, "message": problem.message}],
            )
        return None

    async def _refuse(self, send: Send, refusal: Refusal) -> None:
        REQUESTS_REFUSED.labels(self.service, refusal.reason).inc()
        payload: dict[str, object] = {"detail": refusal.detail}
        if refusal.errors:
            payload["errors"] = refusal.errors
        content = orjson.dumps(payload)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
        if refusal.status == 413:
            # The rest of a refused body is never read: the connection cannot carry another request.
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


@dataclass(frozen=True)
class Refusal:
    """An answer given instead of the route's: status, metric reason, message, named problems."""

    status: int
    reason: str
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)


class _Disconnected(Exception):
    pass


_WANTED = frozenset((b"content-length", b"transfer-encoding", b"content-type"))


async def _read_within(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as more than `limit` bytes have arrived."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            # The client went away mid-body: a truncated body must never reach a route, and nobody waits.
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> AsgiMessage:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
