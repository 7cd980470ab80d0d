"""Vendor webhooks: check authenticity, size and type at once, store the raw payload, answer fast."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import orjson
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from leadflow_intake.domain.sources import SOURCES, PayloadShape, hubspot, linkedin, meta, zoom
from leadflow_intake.domain.sources.common import parse_form_body, secrets_match
from leadflow_intake.domain.sources.google_ads import verify_google_key
from leadflow_intake.settings import IntakeSettings
from leadflow_intake.use_cases.ingest import source_key
from leadflow_shared.contracts.events import RawLeadSubmitted
from leadflow_shared.http import answers
from leadflow_shared.runtime import runtime_of

router = APIRouter(
    prefix="/v1/webhooks", tags=["webhooks"], responses=answers(400, 401, 403, 404, 413, 415, 422, 503)
)

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
SECRET_HEADER = "X-Leadflow-Secret"
# The setting that holds each source's secret, named in messages so an operator knows what to set.
SECRET_SETTINGS: dict[str, str] = {
    "google_ads": "google_ads_key",
    "meta": "meta_app_secret",
    "linkedin": "linkedin_client_secret",
    "mailchimp": "mailchimp_secret",
    "activecampaign": "activecampaign_secret",
    "salesforce_web_to_lead": "salesforce_web_to_lead_secret",
    "hubspot": "hubspot_client_secret",
    "zoom": "zoom_secret_token",
}


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


def _secret(settings: IntakeSettings, source: str) -> str:
    name = SECRET_SETTINGS[source]
    value: str = getattr(settings, name)
    if not value:
        # 503, not 401: the fault is ours, and vendors retry a 5xx, so nothing is lost meanwhile.
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{source} webhooks are not configured: set INTAKE_{name.upper()}",
        )
    return value


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"body over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"body over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message)


@router.get("/{source}", response_model=None)
async def webhook_handshake(source: str, request: Request) -> Response | dict[str, str]:
    """Answer a vendor's subscription check: Meta hub.challenge, LinkedIn challengeCode, Mailchimp GET."""
    key = _source(source)
    settings = _settings(request)
    params = dict(request.query_params)
    if key == meta.SOURCE:
        if not settings.meta_verify_token:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "meta webhooks are not configured: set INTAKE_META_VERIFY_TOKEN",
            )
        challenge = meta.handshake_challenge(params, settings.meta_verify_token)
        if challenge is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "hub.mode or hub.verify_token does not match")
        return PlainTextResponse(challenge)
    if key == linkedin.SOURCE:
        code = params.get("challengeCode")
        if not code:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "query parameter 'challengeCode' is missing")
        return JSONResponse(linkedin.challenge_response(code, _secret(settings, key)))
    if key == "mailchimp":
        return {"status": "ok"}
    raise HTTPException(status.HTTP_405_METHOD_NOT_ALLOWED, f"{source} webhooks are POSTed")


def _check_type(request: Request, shape: str) -> None:
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given != shape:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"content type must be {shape}, not {given or 'missing'}"
        )


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not valid JSON: {exc}") from exc


def _verify(request: Request, settings: IntakeSettings, source: str, body: bytes, parsed: Any) -> None:
    headers = request.headers
    if source == "google_ads":
        if not isinstance(parsed, Mapping) or not verify_google_key(parsed, _secret(settings, source)):
            raise _unauthorized("google_key does not match the key configured for this form")
    elif source == meta.SOURCE:
        if not meta.verify_signature(body, headers.get("x-hub-signature-256"), _secret(settings, source)):
            raise _unauthorized("X-Hub-Signature-256 is missing or does not match the body")
    elif source == linkedin.SOURCE:
        signature = headers.get("x-li-signature")
        if signature is None and not settings.linkedin_require_signature:
            return
        if not linkedin.verify_signature(body, signature, _secret(settings, source)):
            raise _unauthorized("X-LI-Signature is missing or does not match the body")
    elif source == hubspot.SOURCE:
        uri = (
            settings.public_base_url.rstrip("/")
            + request.url.path
            + (f"?{request.url.query}" if request.url.query else "")
            if settings.public_base_url
            else str(request.url)
        )
        if not hubspot.verify_signature_v3(
            method=request.method,
            uri=uri,
            raw_body=body,
            timestamp=headers.get("x-hubspot-request-timestamp"),
            signature=headers.get("x-hubspot-signature-v3"),
            client_secret=_secret(settings, source),
            now=datetime.now(UTC),
        ):
            raise _unauthorized("X-HubSpot-Signature-v3 is missing, stale (over 5 minutes) or does not match")
    elif source == zoom.SOURCE:
        if not zoom.verify_signature(
            body,
            headers.get("x-zm-request-timestamp"),
            headers.get("x-zm-signature"),
            _secret(settings, source),
        ):
            raise _unauthorized("x-zm-signature is missing or does not match the body")
    else:
        given = request.query_params.get("secret") or headers.get(SECRET_HEADER)
        if not secrets_match(given, _secret(settings, source)):
            raise _unauthorized(f"the ?secret= query parameter or {SECRET_HEADER} header does not match")


@router.post("/{source}", response_model=None)
async def receive_webhook(source: str, request: Request) -> Response | dict[str, Any]:
    """Accept a vendor's payload as sent; it is stored raw and processed through leads.submitted."""
    key = _source(source)
    settings = _settings(request)
    body = await _body(request, settings.webhook_max_bytes)
    spec = SOURCES[key]
    if key == "mailchimp" and not body.strip():
        return {"status": "ok"}
    form = spec.shape is PayloadShape.FORM_FIELDS
    _check_type(request, FORM_TYPE if form else JSON_TYPE)
    parsed: Any = parse_form_body(body) if form else _json(body)
    _verify(request, settings, key, body, parsed)

    if key == zoom.SOURCE and isinstance(parsed, Mapping) and parsed.get("event") == zoom.URL_VALIDATION:
        try:
            return zoom.url_validation_response(parsed, settings.zoom_secret_token)
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
    await runtime_of(request).uow.emit(
        RawLeadSubmitted(source=key, payload=payload, received_id=received_id),
        correlation_id=request.state.correlation_id,
    )
    return {"status": "accepted", "received_id": str(received_id)}
