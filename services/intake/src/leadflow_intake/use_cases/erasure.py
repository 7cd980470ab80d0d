"""Erasure requests: resolve the person, erase intake's part at once, tell the other services, track them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from leadflow_intake.adapters import erasure as repo
from leadflow_intake.domain.normalise import email_key
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import IntakePersonErased, PersonErasureRequested
from leadflow_shared.erasure import erase_outbox, erase_timeline, identifiers_of, remember_erased
from leadflow_shared.privacy import email_hash
from leadflow_shared.uow import UnitOfWork

SERVICE = "intake"
SERVICES = ("intake", "qualification", "opportunity", "nurture")


@dataclass(frozen=True)
class Requested:
    """What became of an erasure request: its id, and whether an earlier one already covered the person."""

    request_id: UUID
    repeated: bool


async def request_erasure(
    uow: UnitOfWork,
    *,
    email: str | None = None,
    lead_id: UUID | None = None,
    origin: str = "api",
    causation: Envelope | None = None,
    correlation_id: str | None = None,
) -> Requested | None:
    """Record an erasure of the person behind an email or a lead, erase intake's part, emit the request.

    None when a lead id names no lead. A person already erased answers the earlier request.
    """
    conn = uow.conn
    address = email_key(email) if email else None
    if lead_id is not None:
        if not await repo.lead_exists(conn, lead_id):
            return None
        address = address or await repo.email_of(conn, lead_id)
    hashed = email_hash(address) if address else None
    lead_ids = await repo.person_leads(conn, address, lead_id)
    emails = await repo.emails_of(conn, lead_ids) | ({address} if address else set())
    hashes = sorted({email_hash(e) for e in emails})
    earlier = await repo.earlier_request(conn, hashes, lead_ids)
    if earlier is not None and not await repo.anything_left(conn, lead_ids):
        return Requested(earlier, repeated=True)
    request_id = uuid4()
    await repo.insert_request(conn, request_id, hashes, lead_ids, origin)
    await erase_leads(uow, lead_ids, extra=sorted(emails))
    await repo.confirm(conn, request_id, SERVICE)
    data = PersonErasureRequested(request_id=request_id, lead_ids=lead_ids, email_hash=hashed)
    await uow.outbox.emit(data, causation=causation, correlation_id=correlation_id)
    await uow.outbox.emit(
        IntakePersonErased(request_id=request_id, service=SERVICE),
        causation=causation,
        correlation_id=correlation_id,
    )
    return Requested(request_id, repeated=False)


async def erase_leads(uow: UnitOfWork, lead_ids: list[UUID], extra: list[str]) -> None:
    """Pseudonymise these leads in every table of intake's schema; rows (and so KPI totals) stay."""
    conn = uow.conn
    profiles = await repo.profiles(conn, lead_ids)
    identifiers = identifiers_of([*profiles, *({"email": e} for e in extra)])
    await repo.erase_profiles(conn, lead_ids)
    await repo.erase_quarantine(conn, identifiers)
    await repo.erase_imports(conn, identifiers)
    await repo.erase_notes(conn, lead_ids, identifiers)
    await repo.erase_records(conn, lead_ids, [email_key(i) for i in identifiers if "@" in i])
    await erase_outbox(conn, lead_ids, identifiers)
    await erase_timeline(conn, lead_ids)
    await remember_erased(conn, lead_ids)


async def record_confirmation(uow: UnitOfWork, request_id: UUID, service: str) -> None:
    """A service confirmed it erased its part; the first confirmation's time is kept."""
    await repo.confirm(uow.conn, request_id, service)


@dataclass(frozen=True)
class ServiceProgress:
    """One service's part of an erasure."""

    service: str
    done_at: datetime | None


@dataclass(frozen=True)
class Progress:
    """An erasure request and how far each service got."""

    request_id: UUID
    requested_at: datetime
    origin: str
    leads: int
    services: list[ServiceProgress]

    @property
    def done(self) -> bool:
        """Whether every service confirmed."""
        return all(s.done_at is not None for s in self.services)


async def erasure_progress(uow: UnitOfWork, request_id: UUID) -> Progress | None:
    """An erasure request with each service's completion; None when there is no such request."""
    row = await repo.request(uow.conn, request_id)
    if row is None:
        return None
    done = await repo.confirmations(uow.conn, request_id)
    return Progress(
        request_id=request_id,
        requested_at=row["requested_at"],
        origin=row["origin"],
        leads=len(row["lead_ids"]),
        services=[ServiceProgress(service, done.get(service)) for service in SERVICES],
    )
