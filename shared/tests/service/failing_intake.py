"""Intake as `leadflow-intake serve` runs it, plus one route that fails the way a lost database would."""

from __future__ import annotations

from fastapi import APIRouter

from leadflow_intake.bootstrap import definition
from leadflow_intake.settings import IntakeSettings
from leadflow_shared.runtime import serve

settings = IntakeSettings.load_or_exit()
router = APIRouter()


@router.get("/v1/fail")
async def fail() -> None:
    """Raise with the service's secrets both in the message and in the frame's locals."""
    dsn = settings.database_url
    token = next(iter(settings.api_tokens))
    vendor_secret = dict(settings)["meta_app_secret"]
    raise ConnectionError(f"lost {dsn} while answering Bearer {token} for {vendor_secret}")


service = definition(settings)
service.routers = [*service.routers, router]
serve(service)
