"""Vendor webhooks: check authenticity and type at once, store the raw payload, answer fast."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import orjson
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import PlainTextResponse, Response

from leadflow_intake.domain.sources import (
    SOURCES,
    AuthMethod,
    PayloadError,
    PayloadShape,
    google_ads,
    hubspot,
    linkedin,
    meta,
    source_key,
    zoom,
)
from leadflow_intake.domain.sources.common import parse_form_body, verify_url_secret
from leadflow_intake.entrypoints import schemas
from leadflow_intake.settings import WEBHOOK_SECRETS, IntakeSettings
from leadflow_intake.use_cases.submit import accept_vendor_payload
from leadflow_shared.http import answers
from leadflow_shared.runtime import runtime_of

router = APIRouter(
    prefix="/v1/webhooks", tags=["webhooks"], responses=answers(400, 401, 403, 404, 413, 415, 422, 503)
)

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
SECRET_HEADER = "X-Leadflow-Secret"


def _settings(request: Request) -> IntakeSettings:
    settings = runtime_of(request).settings
    assert isinstance(settings, IntakeSettings)
    return settings


def _source(name: str) -> str:
    key = source_key(name)
    if key not in SOURCES:
        known = ", ".join(sorted(s.replace("_", "-") for s in SOURCES))
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown lead source {name!r}; known: {known}")
    return key


def _secret(settings: IntakeSettings, source: str, name: str | None = None) -> str:
    """The source's configured secret; a source without one is disabled and refuses every request."""
    name = name or WEBHOOK_SECRETS[source]
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
    key = _source(source)
    settings = _settings(request)
    params = dict(request.query_params)
    if key == meta.SOURCE:
        challenge = meta.handshake_challenge(params, _secret(settings, key, "meta_verify_token"))
        if challenge is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "hub.mode or hub.verify_token does not match")
        return PlainTextResponse(challenge)
    if key == linkedin.SOURCE:
        secret = _secret(settings, key)
        code = params.get("challengeCode")
        if not code:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "query parameter 'challengeCode' is missing")
        try:
            return schemas.LinkedInChallenge.model_validate(linkedin.challenge_response(code, secret))
        except PayloadError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    if key == "mailchimp":
        _secret(settings, key)
        return schemas.WebhookOk(status="ok")
    raise HTTPException(status.HTTP_405_METHOD_NOT_ALLOWED, f"{source} webhooks are POSTed")


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


def _verify(request: Request, settings: IntakeSettings, source: str, secret: str, body: bytes) -> None:
    """Check a signed or URL-secret delivery before its body is parsed; Google's key is checked after."""
    headers = request.headers
    now = datetime.now(UTC)
    if source == meta.SOURCE:
        if not meta.verify_signature(body, headers.get("x-hub-signature-256"), secret):
            raise _unauthorized("X-Hub-Signature-256 is missing or does not match the body")
    elif source == linkedin.SOURCE:
        if not linkedin.verify_signature(body, headers.get("x-li-signature"), secret):
            raise _unauthorized("X-LI-Signature is missing or does not match the body")
    elif source == hubspot.SOURCE:
        if not hubspot.verify_signature_v3(
            method=request.method,
            uri=_signed_uri(request, settings),
            raw_body=body,
            timestamp=headers.get("x-hubspot-request-timestamp"),
            signature=headers.get("x-hubspot-signature-v3"),
            client_secret=secret,
            now=now,
        ):
            raise _unauthorized(
                "X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp is missing, malformed, "
                "outside 5 minutes of now, or does not match"
            )
    elif source == zoom.SOURCE:
        if not zoom.verify_signature(
            body, headers.get("x-zm-request-timestamp"), headers.get("x-zm-signature"), secret, now=now
        ):
            raise _unauthorized(
                "x-zm-signature or x-zm-request-timestamp is missing, malformed, "
                "outside 5 minutes of now, or does not match"
            )
    elif SOURCES[source].auth is AuthMethod.URL_SECRET:
        given = request.query_params.get("secret") or headers.get(SECRET_HEADER)
        if not verify_url_secret(given, secret):
            raise _unauthorized(f"the ?secret= query parameter or {SECRET_HEADER} header does not match")
    elif SOURCES[source].auth is not AuthMethod.SHARED_KEY_IN_BODY:
        # Fail closed: a source added without a verifier here must not be open.
        raise _unauthorized(f"{source} deliveries cannot be verified")


WebhookAnswer = (
    schemas.WebhookOk | schemas.WebhookAccepted | schemas.WebhookQuarantined | schemas.ZoomUrlValidation
)


@router.post("/{source}", response_model=WebhookAnswer)
async def receive_webhook(source: str, request: Request) -> WebhookAnswer:
    """Accept a vendor's payload as sent; it is stored raw and processed through leads.submitted."""
    key = _source(source)
    settings = _settings(request)
    secret = _secret(settings, key)
    # The entrance already refused a body over INTAKE_MAX_BODY_BYTES (the vendors' 1 MiB) with a 413.
    body = await request.body()
    spec = SOURCES[key]
    if key == "mailchimp" and not body.strip():
        return schemas.WebhookOk(status="ok")
    form = spec.shape is PayloadShape.FORM_FIELDS
    _check_type(request, FORM_TYPE if form else JSON_TYPE)
    _verify(request, settings, key, secret, body)
    parsed: Any = _parse(body, form)
    if key == google_ads.SOURCE:
        if not (isinstance(parsed, Mapping) and google_ads.verify_google_key(parsed, secret)):
            raise _unauthorized("google_key does not match the key configured for this form")
        parsed = google_ads.without_key(parsed)

    if key == zoom.SOURCE and isinstance(parsed, Mapping) and parsed.get("event") == zoom.URL_VALIDATION:
        try:
            return schemas.ZoomUrlValidation.model_validate(zoom.url_validation_response(parsed, secret))
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if key == hubspot.SOURCE:
        if not isinstance(parsed, list):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "hubspot body must be a JSON array of events"
            )
        payload: dict[str, Any] = {"events": parsed}
    elif isinstance(parsed, dict):
        payload = parsed
    else:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "body must be a JSON object")

    received_id = uuid4()
    rejection_id = await accept_vendor_payload(
        runtime_of(request).uow, key, payload, received_id, request.state.correlation_id
    )
    if rejection_id is not None:
        # Kept with its reason (GET /v1/rejections), so the vendor has nothing to send again.
        return schemas.WebhookQuarantined(
            status="quarantined", received_id=received_id, rejection_id=rejection_id
        )
    return schemas.WebhookAccepted(status="accepted", received_id=received_id)
