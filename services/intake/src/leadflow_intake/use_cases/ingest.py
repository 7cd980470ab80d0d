"""Turn a vendor's raw payload (from a webhook or the leads.submitted topic) into leads, consent, activity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog

from leadflow_intake.adapters import repository as repo
from leadflow_intake.adapters.vendors import VendorRefused, VendorUnavailable
from leadflow_intake.domain.sources import (
    SOURCES,
    ConsentChange,
    Ignored,
    PayloadError,
    SourceResult,
    parse_payload,
    read_fetched,
    source_key,
)
from leadflow_intake.domain.sources.spec import Engagement
from leadflow_intake.use_cases.capture import CaptureResult, DedupPolicy, capture
from leadflow_intake.use_cases.engagement import change_consent, record_activity
from leadflow_intake.use_cases.erasure import request_erasure
from leadflow_intake.use_cases.quarantine import quarantine
from leadflow_intake.use_cases.vendor_fetch import (
    NOTHING_FETCHED,
    Fetched,
    NotFetched,
    fetching_of,
    unseen_leads,
)
from leadflow_shared.consumer import Retry
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import ActivityRecorded, RawLeadSubmitted
from leadflow_shared.contracts.lead import LeadSubmission
from leadflow_shared.uow import UnitOfWork

log = structlog.get_logger(__name__)


@dataclass
class IngestReport:
    """What one raw delivery turned into."""

    captured: list[CaptureResult] = field(default_factory=list)
    consent_changes: int = 0
    # Consent changes for an email no lead has yet, kept until that person is captured.
    consent_kept: int = 0
    ignored: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    erasures: list[UUID] = field(default_factory=list)


async def ingest_raw(
    uow: UnitOfWork,
    raw: RawLeadSubmitted,
    *,
    causation: Envelope | None,
    fetched: Fetched = NOTHING_FETCHED,
    retry_window_s: float = 0.0,
    policy: DedupPolicy = DedupPolicy(),
) -> IngestReport:
    """Parse (with what was fetched from the vendor before the transaction) and capture every lead of one
    raw delivery; a vendor outage younger than retry_window_s rolls the batch back to be tried again."""
    source = source_key(raw.source)
    report = IngestReport()
    spec = SOURCES.get(source)
    if spec is None:
        reason = f"unknown lead source {raw.source!r}; known: {', '.join(sorted(SOURCES))}"
        await quarantine(uow, source or "unknown", reason, raw.payload, causation=causation)
        report.rejected.append(reason)
        return report
    erased = spec.erasure(raw.payload) if spec.erasure is not None else None
    if erased is not None:
        await _erasure(uow, source, erased, causation, report)
        return report
    try:
        results = await _results(uow, source, raw.payload, fetched)
    except NotFetched as exc:
        raise Retry(str(exc)) from exc
    except (PayloadError, VendorRefused) as exc:
        await quarantine(uow, source, str(exc), raw.payload, causation=causation)
        report.rejected.append(str(exc))
        return report
    except VendorUnavailable as exc:
        waited = (datetime.now(UTC) - causation.time).total_seconds() if causation else 0.0
        if waited < retry_window_s:
            # Nothing is lost: the batch rolls back and the delivery is read again.
            raise Retry(str(exc)) from exc
        # A vendor down for longer must not hold up every lead behind this one on the partition.
        reason = f"vendor API unavailable for {waited:.0f} s, delivery kept for a person: {exc}"
        await quarantine(uow, source, reason, raw.payload, causation=causation)
        report.rejected.append(reason)
        return report

    for index, result in enumerate(results):
        part = f":{index}" if index else ""
        if isinstance(result, Ignored):
            report.ignored.append(result.reason)
        elif isinstance(result, ConsentChange):
            outcome = await change_consent(uow, result, causation=causation, raw=raw.payload, part=part)
            report.consent_changes += outcome.outcome == "recorded"
            report.consent_kept += outcome.outcome == "kept"
            if outcome.reason:
                report.rejected.append(outcome.reason)
        else:
            captured = await capture(uow, result, causation=causation, raw=raw.payload, policy=policy)
            report.captured.append(captured)
            if captured.reason:
                report.rejected.append(captured.reason)
            if spec.engagement and captured.lead_id and captured.outcome != "duplicate_delivery":
                engagement = spec.engagement(raw.payload, result)
                if engagement is not None:
                    await _engaged(uow, source, engagement, result, captured, causation)
    return report


async def _engaged(
    uow: UnitOfWork,
    source: str,
    engagement: Engagement,
    submission: LeadSubmission,
    captured: CaptureResult,
    causation: Envelope | None,
) -> None:
    if submission.source_id is None:
        return
    kind, details = engagement
    await record_activity(
        uow,
        ActivityRecorded(
            activity_id=submission.source_id,
            lead_id=captured.lead_id,
            activity_type=kind,
            occurred_at=submission.submitted_at or datetime.now(UTC),
            source_system=source,
            details=details,
        ),
        causation=causation,
    )


async def _results(
    uow: UnitOfWork, source: str, payload: Mapping[str, Any], fetched: Fetched
) -> list[SourceResult]:
    fetching = fetching_of(source, payload)
    if fetching is None:
        return [parse_payload(source, payload)]
    if fetched.error is not None:
        raise fetched.error
    results: list[SourceResult] = []
    for lead in await unseen_leads(uow.conn, source, fetching.leads(payload)):
        answer = fetched.get(lead.call)
        follow_up = lead.follow_up(answer)
        results.append(
            read_fetched(source, lead, answer, None if follow_up is None else fetched.get(follow_up))
        )
    return results or [Ignored(source, f"{source} delivery named no lead that was not captured before")]


async def _erasure(
    uow: UnitOfWork, source: str, source_id: str, causation: Envelope | None, report: IngestReport
) -> None:
    """The source deleted a record: the person behind it asked to be forgotten, so they are erased."""
    lead_id = await repo.touch_seen(uow.conn, source, source_id)
    if lead_id is None:
        report.ignored.append(f"{source} deleted {source_id}, which was never captured")
        return
    requested = await request_erasure(uow, lead_id=lead_id, origin=source, causation=causation)
    if requested is not None:
        report.erasures.append(requested.request_id)
