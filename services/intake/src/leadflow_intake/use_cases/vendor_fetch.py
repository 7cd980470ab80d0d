"""Fetch what the sources that send ids only name, before the consumer's transaction opens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from leadflow_intake.adapters import repository as repo
from leadflow_intake.adapters.vendors import VendorClient, VendorRefused, VendorUnavailable
from leadflow_intake.domain.sources import SOURCES, NamedLead, PayloadError, source_key
from leadflow_intake.domain.sources.spec import Fetching, VendorCall
from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import RawLeadSubmitted


@dataclass(frozen=True)
class Fetched:
    """What the vendor APIs answered for one raw delivery: answers by call, or the failure that stopped it."""

    answers: Mapping[VendorCall, Any] = field(default_factory=dict)
    error: VendorUnavailable | VendorRefused | PayloadError | None = None

    def get(self, call: VendorCall) -> Any:
        """The answer to this call; NotFetched when it was not made (the delivery is then tried again)."""
        try:
            return self.answers[call]
        except KeyError:
            raise NotFetched(f"{call.path} was not fetched before the transaction") from None


class NotFetched(Exception):
    """A handler needs a vendor object the batch did not fetch (it was seen as captured then)."""


NOTHING_FETCHED = Fetched()


def fetching_of(source: str, payload: Mapping[str, Any]) -> Fetching | None:
    """How a delivery's leads are fetched, when it names them by id only; None when it carries them."""
    spec = SOURCES.get(source)
    fetching = spec.fetching if spec is not None else None
    return fetching if fetching is not None and fetching.needed(payload) else None


async def unseen_leads(conn: asyncpg.Connection, source: str, named: Sequence[NamedLead]) -> list[NamedLead]:
    """The leads a delivery names by id that no touch recorded yet, each once."""
    leads: list[NamedLead] = []
    ids: set[str] = set()
    for lead in named:
        if lead.source_id in ids:
            continue
        ids.add(lead.source_id)
        if await repo.touch_seen(conn, source, lead.source_id) is None:
            leads.append(lead)
    return leads


async def prefetch(
    pool: asyncpg.Pool,
    items: Sequence[tuple[Envelope, Any]],
    vendors: VendorClient,
) -> dict[UUID, Fetched]:
    """The vendor objects of the raw deliveries of a batch, by event id; no transaction is open meanwhile.
    Ids captured before are not fetched again."""
    todo: list[tuple[UUID, str, Fetching, Mapping[str, Any]]] = []
    for envelope, data in items:
        if isinstance(data, RawLeadSubmitted):
            source = source_key(data.source)
            fetching = fetching_of(source, data.payload)
            if fetching is not None:
                todo.append((envelope.id, source, fetching, data.payload))
    if not todo:
        return {}
    plans: dict[UUID, tuple[Fetching, list[NamedLead] | PayloadError]] = {}
    async with pool.acquire() as conn:
        for event_id, source, fetching, payload in todo:
            try:
                plans[event_id] = (fetching, await unseen_leads(conn, source, fetching.leads(payload)))
            except PayloadError as exc:
                plans[event_id] = (fetching, exc)
    return {event_id: await _fetch(fetching, plan, vendors) for event_id, (fetching, plan) in plans.items()}


async def _fetch(fetching: Fetching, plan: list[NamedLead] | PayloadError, vendors: VendorClient) -> Fetched:
    """Make each lead's calls in turn; the first failure stops the delivery's fetching."""
    if isinstance(plan, PayloadError):
        return Fetched(error=plan)
    answers: dict[VendorCall, Any] = {}
    try:
        for lead in plan:
            answer = answers[lead.call] = await vendors.fetch(fetching, lead.call)
            follow_up = lead.follow_up(answer)
            if follow_up is not None:
                answers[follow_up] = await vendors.fetch(fetching, follow_up)
    except (VendorUnavailable, VendorRefused) as exc:
        return Fetched(answers, exc)
    return Fetched(answers)
