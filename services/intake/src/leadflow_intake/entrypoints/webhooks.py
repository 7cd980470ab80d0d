"""Vendor webhooks: check authenticity and type at once, store the raw payload, answer fast."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import orjson
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import PlainTextResponse, Response
from pydantic import TypeAdapter

from leadflow_intake.domain.sources import SOURCES, PayloadError, PayloadShape, Source, source_key
from leadflow_intake.domain.sources.common import parse_form_body
from leadflow_intake.domain.sources.spec import Delivery, HandshakeRefused
from leadflow_intake.entrypoints import schemas
from leadflow_intake.settings import IntakeSettings
from leadflow_intake.use_cases.submit import accept_vendor_payload
from leadflow_shared.http import answers
from leadflow_shared.runtime import runtime_of

router = APIRouter(
    prefix="/v1/webhooks", tags=["webhooks"], responses=answers(400, 401, 403, 404, 413, 415, 422, 503)
)


def _settings(request: Request) -> IntakeSettings:
    settings = runtime_of(request).settings
    assert isinstance(settings, IntakeSettings)
    return settings


def _source(name: str) -> Source:
    spec = SOURCES.get(source_key(name))
    if spec is None:
        known = ", ".join(sorted(s.replace("_", "-") for s in SOURCES))
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown lead source {name!r}; known: {known}")
    return spec


def _secret(settings: IntakeSettings, source: str, name: str) -> str:
    """The source's configured secret; a source without one is disabled and refuses every request."""
    value: str = getattr(settings, name)
    if not value:
        # 403, not 5xx: an unauthenticated source must never be open, and a retry would change nothing.
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"{source} webhooks are disabled: INTAKE_{name.upper()} is not set",
        )
    return value


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message)


WebhookAnswer = (
    schemas.WebhookOk | schemas.WebhookAccepted | schemas.WebhookQuarantined | schemas.ZoomUrlValidation
)
# A source's handshake or challenge reply, as the answer it is (the source declares its shape as a mapping).
_CHECKS: TypeAdapter[schemas.WebhookCheck] = TypeAdapter(schemas.WebhookCheck)
_ANSWERS: TypeAdapter[WebhookAnswer] = TypeAdapter(WebhookAnswer)


@router.get(
    "/{source}",
    response_model=schemas.WebhookCheck,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "LinkedIn's challenge answered, Mailchimp's check acknowledged; Meta's"
            " hub.challenge echoed as text",
        }
    },
)
async def webhook_handshake(source: str, request: Request) -> Response | schemas.WebhookCheck:
    """Answer a vendor's subscription check: Meta hub.challenge, LinkedIn challengeCode, Mailchimp GET."""
    spec = _source(source)
    if spec.handshake is None:
        raise HTTPException(status.HTTP_405_METHOD_NOT_ALLOWED, f"{source} webhooks are POSTed")
    secret = _secret(_settings(request), spec.name, spec.handshake.secret or spec.secret.name)
    try:
        reply = spec.handshake.answer(dict(request.query_params), secret)
    except HandshakeRefused as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except PayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    return PlainTextResponse(reply) if isinstance(reply, str) else _CHECKS.validate_python(reply)


def _check_type(request: Request, shape: str) -> None:
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given != shape:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"content type must be {shape}, not {given or 'missing'}"
        )


def _parse(body: bytes, form: bool) -> Any:
    try:
        return parse_form_body(body) if form else orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not valid JSON: {exc}") from exc
    except PayloadError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


def _signed_uri(request: Request, settings: IntakeSettings) -> str:
    if not settings.public_base_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return settings.public_base_url.rstrip("/") + request.url.path + query


def _delivery(request: Request, settings: IntakeSettings, body: bytes) -> Delivery:
    return Delivery(
        method=request.method,
        uri=_signed_uri(request, settings),
        headers=request.headers,
        query=request.query_params,
        body=body,
        now=datetime.now(UTC),
    )


@router.post("/{source}", response_model=WebhookAnswer)
async def receive_webhook(source: str, request: Request) -> WebhookAnswer:
    """Accept a vendor's payload as sent; it is stored raw and processed through leads.submitted."""
    spec = _source(source)
    settings = _settings(request)
    secret = _secret(settings, spec.name, spec.secret.name)
    # The entrance already refused a body over INTAKE_MAX_BODY_BYTES (the vendors' 1 MiB) with a 413.
    body = await request.body()
    if spec.empty_post_is_check and not body.strip():
        return schemas.WebhookOk(status="ok")
    _check_type(request, spec.shape)
    auth = spec.authenticity
    if auth.signed is not None and not auth.signed(_delivery(request, settings, body), secret):
        raise _unauthorized(auth.refusal)
    parsed: Any = _parse(body, spec.shape is PayloadShape.FORM)
    if auth.vouched is not None and not auth.vouched(parsed, secret):
        raise _unauthorized(auth.refusal)
    parsed = auth.redact(parsed)

    if spec.challenge is not None:
        try:
            reply = spec.challenge(parsed, secret)
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
        if reply is not None:
            return _ANSWERS.validate_python(dict(reply))
    if spec.array_of is not None:
        if not isinstance(parsed, list):
            message = f"{spec.name} body must be a JSON array of {spec.array_of}"
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message)
        payload: dict[str, Any] = {spec.array_of: parsed}
    elif isinstance(parsed, dict):
        payload = parsed
    else:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "body must be a JSON object")

    received_id = uuid4()
    rejection_id = await accept_vendor_payload(
        runtime_of(request).uow, spec.name, payload, received_id, request.state.correlation_id
    )
    if rejection_id is not None:
        # Kept with its reason (GET /v1/rejections), so the vendor has nothing to send again.
        return schemas.WebhookQuarantined(
            status="quarantined", received_id=received_id, rejection_id=rejection_id
        )
    return schemas.WebhookAccepted(status="accepted", received_id=received_id)
