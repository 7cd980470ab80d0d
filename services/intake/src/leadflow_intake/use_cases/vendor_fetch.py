"""Fetch what Meta, LinkedIn and HubSpot send by id only, before the consumer's transaction opens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from leadflow_intake.adapters import repository as repo
from leadflow_intake.adapters.vendors import VendorClient, VendorRefused, VendorUnavailable
from leadflow_intake.domain.sources import PayloadError, hubspot, linkedin, meta, source_key
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import RawLeadSubmitted

# One vendor object: (what it is, its id at the vendor).
Key = tuple[str, str]
# What to fetch for one delivery: each object's key and, for a LinkedIn response, the notification's form URN.
Plan = list[tuple[Key, str | None]]


@dataclass(frozen=True)
class Fetched:
    """What the vendor APIs answered for one raw delivery: objects by key, or the failure that stopped it."""

    objects: Mapping[Key, Any] = field(default_factory=dict)
    error: VendorUnavailable | VendorRefused | PayloadError | None = None

    def get(self, kind: str, vendor_id: str) -> Any:
        """The object fetched for this key; NotFetched when none was (the delivery is then tried again)."""
        try:
            return self.objects[(kind, vendor_id)]
        except KeyError:
            raise NotFetched(f"{kind} {vendor_id} was not fetched before the transaction") from None


class NotFetched(Exception):
    """A handler needs a vendor object the batch did not fetch (it was seen as captured then)."""


NOTHING_FETCHED = Fetched()


def needs_fetch(source: str, payload: Mapping[str, Any]) -> bool:
    """Whether a raw delivery names its leads by id only, so their data must be fetched from the vendor."""
    if source == meta.SOURCE:
        return "field_data" not in payload
    if source == linkedin.SOURCE:
        return "formResponse" not in payload and not linkedin.is_deletion(payload)
    if source == hubspot.SOURCE:
        return "properties" not in payload
    return False


async def prefetch(
    pool: asyncpg.Pool,
    items: Sequence[tuple[Envelope, Any]],
    vendors: VendorClient,
) -> dict[UUID, Fetched]:
    """The vendor objects of the raw deliveries of a batch, by event id; no transaction is open meanwhile.
    Ids captured before are not fetched again."""
    todo: list[tuple[UUID, str, Mapping[str, Any]]] = []
    for envelope, data in items:
        if isinstance(data, RawLeadSubmitted):
            source = source_key(data.source)
            if needs_fetch(source, data.payload):
                todo.append((envelope.id, source, data.payload))
    if not todo:
        return {}
    plans: dict[UUID, Plan | PayloadError] = {}
    async with pool.acquire() as conn:
        for event_id, source, payload in todo:
            try:
                plans[event_id] = await _unseen(conn, source, payload)
            except PayloadError as exc:
                plans[event_id] = exc
    return {event_id: await _fetch(plan, vendors) for event_id, plan in plans.items()}


async def _unseen(conn: asyncpg.Connection, source: str, payload: Mapping[str, Any]) -> Plan:
    """The vendor objects a delivery names that no touch recorded yet (a read outside any transaction)."""
    plan: Plan = []
    if source == meta.SOURCE:
        for ref in meta.lead_refs(payload):
            if await repo.touch_seen(conn, meta.SOURCE, ref.leadgen_id) is None:
                plan.append((("meta_lead", ref.leadgen_id), None))
    elif source == linkedin.SOURCE:
        note = linkedin.lead_notification(payload)
        if await repo.touch_seen(conn, linkedin.SOURCE, note.response_urn) is None:
            plan.append((("linkedin_response", note.response_id), note.form_urn))
    elif source == hubspot.SOURCE:
        events = payload.get("events")
        if not isinstance(events, list):
            raise PayloadError("hubspot delivery has no 'events' list")
        for event in hubspot.contact_events(events):
            key = ("hubspot_contact", event.object_id)
            if (key, None) in plan:
                continue
            if await repo.touch_seen(conn, hubspot.SOURCE, event.object_id) is None:
                plan.append((key, None))
    return plan


async def _fetch(plan: Plan | PayloadError, vendors: VendorClient) -> Fetched:
    """Fetch each planned object in turn; the first failure stops the delivery's fetching."""
    if isinstance(plan, PayloadError):
        return Fetched(error=plan)
    objects: dict[Key, Any] = {}
    try:
        for (kind, vendor_id), noted_form in plan:
            if kind == "meta_lead":
                objects[(kind, vendor_id)] = await vendors.meta_lead(vendor_id)
            elif kind == "hubspot_contact":
                objects[(kind, vendor_id)] = await vendors.hubspot_contact(vendor_id)
            else:
                response = await vendors.linkedin_response(vendor_id)
                objects[(kind, vendor_id)] = response
                form_urn = linkedin_form_to_fetch(response, noted_form)
                if form_urn is not None:
                    objects[("linkedin_form", form_urn)] = await vendors.linkedin_form(form_urn)
    except (VendorUnavailable, VendorRefused) as exc:
        return Fetched(objects, exc)
    return Fetched(objects)


def linkedin_form_to_fetch(response: Any, noted_form: str | None) -> str | None:
    """The form URN to fetch a LinkedIn response's questions from, when the response does not embed them."""
    if not isinstance(response, Mapping) or isinstance(response.get("form"), Mapping):
        return None
    form_urn = response.get("versionedLeadGenFormUrn") or noted_form
    return form_urn if isinstance(form_urn, str) else None
