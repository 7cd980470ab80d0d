"""Composition root of intake."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import structlog

from leadflow_intake.adapters import repository
from leadflow_intake.adapters.vendors import VendorClient
from leadflow_intake.domain.dedup import MatchThresholds
from leadflow_intake.entrypoints import consumers, export, http, people, webhooks
from leadflow_intake.settings import IntakeSettings
from leadflow_intake.use_cases.capture import DedupPolicy
from leadflow_intake.use_cases.imports import claim_next, process_import
from leadflow_shared.contracts.topics import LEADS_ACTIVITY, LEADS_SUBMITTED
from leadflow_shared.runtime import Runtime, ServiceDefinition
from leadflow_shared.totals import folder

MIGRATIONS = Path(__file__).parent / "migrations"
# The multipart framing and form fields around an uploaded CSV: the file itself is held to import_max_bytes.
MULTIPART_ALLOWANCE = 65_536
log = structlog.get_logger(__name__)


def dedup_policy(settings: IntakeSettings) -> DedupPolicy:
    """The fuzzy-match thresholds and the default phone region from settings."""
    return DedupPolicy(
        MatchThresholds(merge=settings.dedup_merge_threshold, review=settings.dedup_review_threshold),
        settings.dedup_max_candidates,
        settings.default_region or None,
    )


def body_limits(settings: IntakeSettings) -> dict[str, int]:
    """The paths whose bodies may pass INTAKE_MAX_BODY_BYTES: the CSV upload, within its own limit."""
    return {"/v1/imports": settings.import_max_bytes + MULTIPART_ALLOWANCE}


def import_worker(settings: IntakeSettings) -> object:
    """The background loop that runs pending CSV imports."""

    async def run_imports(runtime: Runtime) -> None:
        while not runtime.stopping.is_set():
            try:
                import_id = await claim_next(runtime.uow)
                if import_id is not None:
                    await process_import(
                        runtime.uow, import_id, settings.import_chunk_rows, settings.default_region or None
                    )
                    continue
            except Exception:
                # The lease expires and the import resumes from its last committed chunk.
                log.exception("import round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runtime.stopping.wait(), settings.import_poll_interval_s)

    return run_imports


def definition(settings: IntakeSettings) -> ServiceDefinition:
    """Wire intake's subscriptions, routes and background jobs."""
    vendors = VendorClient(settings)

    async def close_vendors(runtime: Runtime) -> None:
        await runtime.stopping.wait()
        await vendors.close()

    return ServiceDefinition(
        title="leadflow intake",
        description="Captures every lead from every source, normalises it, merges duplicates.",
        settings=settings,
        subscriptions=consumers.subscriptions(vendors, dedup_policy(settings)),
        routers=[http.router, webhooks.router, people.router, export.router],
        background=[import_worker(settings), close_vendors, folder(repository.TOTALS)],  # type: ignore[list-item]
        state={"vendors": vendors},
        body_limits=body_limits(settings),
        # What the API accepts goes through the upstream topics, like what upstream systems send.
        writes=(LEADS_SUBMITTED, LEADS_ACTIVITY),
    )
