"""CSV imports: store the upload, then submit its rows chunk by chunk, resumable after any crash."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import structlog

from leadflow_intake.adapters import imports
from leadflow_intake.domain.csv_import import CsvLead, CsvRow, CsvRowError, import_csv
from leadflow_intake.domain.normalise import Rejected, normalise
from leadflow_shared.contracts.events import EventData, LeadSubmitted
from leadflow_shared.contracts.lead import Campaign, Channel
from leadflow_shared.outbox import EventTooLarge
from leadflow_shared.uow import UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger(__name__)
LEASE_SECONDS = 60


def decode_upload(content: bytes) -> str:
    """The text of an upload: UTF-8 (with or without BOM), else Windows-1252 as Excel writes it."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def rows_of(content: bytes, import_id: UUID, channel: Channel, campaign: Campaign) -> Iterator[CsvRow]:
    """The parsed rows of an upload, in file order."""
    return import_csv(
        io.StringIO(decode_upload(content), newline=""),
        import_id=str(import_id),
        channel=channel,
        campaign=campaign,
    )


async def create_import(
    uow: UnitOfWork, filename: str, content: bytes, channel: Channel, campaign: Campaign
) -> UUID:
    """Store an upload for the import job; nothing is parsed yet, so the answer is immediate."""
    import_id = uuid4()
    await imports.insert_import(uow.conn, import_id, filename, content, channel, campaign)
    return import_id


async def claim_next(uow_factory: UnitOfWorkFactory) -> UUID | None:
    """Lease the oldest pending import, or one whose worker stopped renewing its lease."""
    async with uow_factory() as uow:
        return await imports.lease_next(uow.conn, LEASE_SECONDS)


async def process_import(
    uow_factory: UnitOfWorkFactory, import_id: UUID, chunk_rows: int = 500, default_region: str | None = None
) -> None:
    """Submit every row of an import; each chunk's events, errors and progress commit together."""
    async with uow_factory() as uow:
        row = await imports.upload_of(uow.conn, import_id)
    if row is None:
        return
    channel, campaign = Channel(row["channel"]), Campaign.model_validate(row["campaign"])
    content: bytes = row["content"]
    total = sum(1 for _ in rows_of(content, import_id, channel, campaign))
    first = next(rows_of(content, import_id, channel, campaign), None)
    if isinstance(first, CsvRowError) and first.row_number == 1:
        async with uow_factory() as uow:
            await imports.fail_import(uow.conn, import_id, first.message)
        return
    async with uow_factory() as uow:
        await imports.set_total(uow.conn, import_id, total)

    done: int = row["rows_done"]
    rows = rows_of(content, import_id, channel, campaign)
    for _ in range(done):
        next(rows, None)
    while True:
        chunk = [r for _, r in zip(range(chunk_rows), rows, strict=False)]
        if not chunk:
            break
        async with uow_factory() as uow:
            current = await imports.lock_rows_done(uow.conn, import_id)
            if current != done:
                # Another worker took the lease over; it owns the rest.
                return
            events, errors = _submissions(chunk, default_region)
            submitted = 0
            for row_number, data in events:
                try:
                    await uow.outbox.emit(data)
                except EventTooLarge as exc:
                    # A row Kafka would never take fails alone; left in, it would fail the import forever.
                    errors.append((row_number, str(exc)))
                else:
                    submitted += 1
            if errors:
                await imports.add_errors(uow.conn, import_id, errors)
            done += len(chunk)
            await imports.record_progress(uow.conn, import_id, done, submitted, len(errors))
        await asyncio.sleep(0)
    async with uow_factory() as uow:
        await imports.complete_import(uow.conn, import_id)


def _submissions(
    chunk: list[CsvRow], default_region: str | None
) -> tuple[list[tuple[int, EventData]], list[tuple[int, str]]]:
    events: list[tuple[int, EventData]] = []
    errors: list[tuple[int, str]] = []
    now = datetime.now(UTC)
    for item in chunk:
        if isinstance(item, CsvRowError):
            errors.append((item.row_number, item.message))
            continue
        assert isinstance(item, CsvLead)
        checked = normalise(item.submission, received_at=now, default_region=default_region)
        if isinstance(checked, Rejected):
            errors.append((item.row_number, checked.reason()))
            continue
        events.append((item.row_number, LeadSubmitted(submission=item.submission)))
    return events, errors


async def import_status(
    conn: Any, import_id: UUID, errors_after: int, errors_limit: int
) -> dict[str, Any] | None:
    """Progress, counts and the per-row errors of an import (errors paged by row number)."""
    row = await imports.import_row(conn, import_id)
    if row is None:
        return None
    captured = await imports.leads_captured(conn, import_id)
    errors = await imports.errors_of(conn, import_id, errors_after, errors_limit)
    result = dict(row)
    total = result["rows_total"]
    result["progress"] = (
        round(result["rows_done"] / total, 4) if total else (1.0 if result["status"] == "completed" else 0.0)
    )
    result["leads_captured"] = captured
    result["errors"] = [dict(e) for e in errors]
    result["errors_cursor"] = errors[-1]["row_number"] if len(errors) == errors_limit else None
    return result
