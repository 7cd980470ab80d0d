"""Erasure (GDPR art. 17): the pseudonymisation rules every service applies to a person's data in its schema.

A person is named by the identifiers their data carries (email, phone, names); every string that holds one is
replaced, every field that is personal by nature is emptied, and rows are kept so that counts stay true.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import orjson

from leadflow_shared.contracts.envelope import Envelope
from leadflow_shared.contracts.events import EventData, PersonErased, PersonErasureRequested
from leadflow_shared.uow import UnitOfWork

EventDataT = TypeVar("EventDataT", bound="EventData")

ERASED = "[erased]"

# The leads a service erased (migration `erased_leads` of every service): an event about one of them that
# arrives after the erasure (published before it, or replayed) is pseudonymised before it is handled.
ERASED_LEADS_DDL = """
CREATE TABLE IF NOT EXISTS erased_leads (
    lead_id text PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT now()
);
"""
# Profile fields that name or reach a person; the rest (company, country, industry, size, consent) stays.
PERSONAL_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "full_name",
        "name",
        "email",
        "phone",
        "mobile",
        "job_title",
        "title",
        "website",
        "address",
        "street",
        "city",
        "zip",
        "postal_code",
        "linkedin",
        "ip",
        "ip_address",
    }
)
# Fields whose whole content is free text or data the person gave: emptied whatever they hold.
FREE_FIELDS = frozenset({"custom_fields", "answers", "details", "fields", "payload", "raw", "answers_raw"})
# Identifiers shorter than this are not looked for inside other strings (a two-letter first name is no proof).
MIN_IDENTIFIER = 3


def identifiers_of(profiles: Iterable[Mapping[str, Any] | None]) -> frozenset[str]:
    """The strings that name the person in these profiles, lower-cased: email, phone, names."""
    found: set[str] = set()
    for profile in profiles:
        if not profile:
            continue
        first, last = profile.get("first_name"), profile.get("last_name")
        for key in ("email", "phone", "first_name", "last_name", "full_name", "name"):
            value = profile.get(key)
            if isinstance(value, str) and len(value.strip()) >= MIN_IDENTIFIER:
                found.add(value.strip().lower())
        if isinstance(first, str) and isinstance(last, str) and first.strip() and last.strip():
            found.add(f"{first.strip()} {last.strip()}".lower())
        phone = profile.get("phone")
        if isinstance(phone, str) and phone.startswith("+") and len(phone) > MIN_IDENTIFIER + 1:
            # The national digits too: a payload may hold the number without its country code.
            found.add(phone[-9:])
    return frozenset(found)


def _pattern(identifiers: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({i for i in identifiers if i}, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile("|".join(re.escape(i) for i in ordered), re.IGNORECASE)


def redact_text(text: str, identifiers: Iterable[str]) -> str:
    """The text with every identifier replaced by [erased]."""
    pattern = _pattern(identifiers)
    return pattern.sub(ERASED, text) if pattern else text


def redact(value: Any, identifiers: Iterable[str]) -> Any:
    """A JSON value with personal fields emptied, free-text fields cleared and identifiers replaced inside."""
    return _redact(value, _pattern(identifiers))


def _redact(value: Any, pattern: re.Pattern[str] | None, blank: str | None = None) -> Any:
    if isinstance(value, str):
        return pattern.sub(ERASED, value) if pattern else value
    if isinstance(value, list):
        return [_redact(item, pattern, blank) for item in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            # Only a value can name a person: consent's `email: false` is a choice, not an address.
            if key in PERSONAL_FIELDS and isinstance(item, (str, int, float)) and not isinstance(item, bool):
                out[key] = blank
            elif key in FREE_FIELDS:
                out[key] = {} if isinstance(item, dict) else blank
            else:
                out[key] = _redact(item, pattern, blank)
        return out
    return value


def pseudonymise_profile(profile: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A profile without what names the person: what stays describes the company and the consent given."""
    if profile is None:
        return None
    kept = redact(dict(profile), identifiers_of([profile]))
    assert isinstance(kept, dict)
    return kept


def redact_bytes(content: bytes, identifiers: Iterable[str]) -> bytes:
    """Bytes of any encoding with each identifier's UTF-8 bytes replaced (ASCII case ignored), rest kept."""
    names = sorted({i for i in identifiers if i}, key=len, reverse=True)
    if not names:
        return content
    pattern = re.compile(b"|".join(re.escape(n.encode()) for n in names), re.IGNORECASE)
    return pattern.sub(ERASED.encode(), content)


def redact_message(payload: bytes, identifiers: Iterable[str]) -> bytes:
    """A stored CloudEvents message with its data pseudonymised (the envelope's ids and type stay); any other
    stored bytes with the identifiers replaced."""
    names = sorted({i for i in identifiers if i}, key=len, reverse=True)
    try:
        envelope = orjson.loads(payload)
    except orjson.JSONDecodeError:
        envelope = None
    if not isinstance(envelope, dict):
        # A dead letter's copy of something that was never an event: its bytes lose the identifiers.
        return redact_bytes(payload, names)
    pattern = _pattern(names)
    if "data" in envelope:
        envelope["data"] = _redact(envelope["data"], pattern)
    return orjson.dumps(envelope)


async def remember_erased(conn: asyncpg.Connection, lead_ids: Sequence[UUID]) -> None:
    """Record the erased leads, so that their late events are pseudonymised on arrival."""
    await conn.execute(
        "INSERT INTO erased_leads (lead_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        [str(lead_id) for lead_id in lead_ids],
    )


async def erase_timeline(conn: asyncpg.Connection, lead_ids: Sequence[UUID]) -> None:
    """Keep each timeline entry's kind, time and journey; its summary may quote reasons naming the person."""
    await conn.execute(
        f"UPDATE lead_timeline SET summary = kind || ': {ERASED}' WHERE lead_id = ANY($1::uuid[])",
        list(lead_ids),
    )


def pseudonymise_event(data: EventDataT) -> EventDataT:
    """The same event without the personal data it carries (what an erased lead's late event becomes)."""
    dumped = data.model_dump(mode="json")
    try:
        return type(data).model_validate(_redact(dumped, None))
    except ValueError:
        # A field the event requires (an opportunity's name) gets the marker instead of nothing.
        return type(data).model_validate(_redact(dumped, None, ERASED))


def lead_keys(lead_ids: Sequence[UUID]) -> list[bytes]:
    """The Kafka keys (and outbox keys) of these leads' events."""
    return [str(lead_id).encode() for lead_id in lead_ids]


async def erase_outbox(conn: asyncpg.Connection, lead_ids: Sequence[UUID], identifiers: Iterable[str]) -> int:
    """Pseudonymise the outbox rows about these leads or naming the person; published rows keep their row."""
    names = sorted({i.lower() for i in identifiers})
    rows = await conn.fetch(
        # Stored messages need not be valid UTF-8 (a dead letter's copy): they are searched in escape form.
        "SELECT id, payload FROM outbox WHERE key = ANY($1::bytea[])"
        " OR lower(encode(payload, 'escape')) LIKE ANY($2::text[]) FOR UPDATE",
        lead_keys(lead_ids),
        like_any(escaped(name) for name in names),
    )
    changed = [(row["id"], redact_message(row["payload"], names)) for row in rows]
    if changed:
        await conn.execute(
            "UPDATE outbox o SET payload = c.payload FROM unnest($1::bigint[], $2::bytea[]) AS c(id, payload)"
            " WHERE o.id = c.id",
            [row_id for row_id, _ in changed],
            [payload for _, payload in changed],
        )
    return len(changed)


def escaped(text: str) -> str:
    """A text's UTF-8 bytes as PostgreSQL's `encode(bytes, 'escape')` writes them."""
    out = []
    for byte in text.encode():
        if byte == 0x5C:
            out.append("\\\\")
        elif byte == 0 or byte >= 0x80:
            out.append(f"\\{byte:03o}")
        else:
            out.append(chr(byte))
    return "".join(out)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_any(identifiers: Iterable[str]) -> list[str]:
    """LIKE patterns (for `lower(column) LIKE ANY($n)`) that find any of these identifiers in a text."""
    return [f"%{_like(name.lower())}%" for name in sorted(set(identifiers))]


async def erase_read_model(conn: asyncpg.Connection, lead_ids: Sequence[UUID]) -> frozenset[str]:
    """Pseudonymise the profiles of the `leads` read model; answer the identifiers they held."""
    rows = await conn.fetch(
        "SELECT id, profile FROM leads WHERE id = ANY($1::uuid[]) FOR UPDATE", list(lead_ids)
    )
    profiles = [row["profile"] for row in rows]
    identifiers = identifiers_of(profiles)
    await conn.execute(
        "UPDATE leads l SET profile = c.profile FROM unnest($1::uuid[], $2::jsonb[]) AS c(id, profile)"
        " WHERE l.id = c.id",
        [row["id"] for row in rows],
        [pseudonymise_profile(profile) for profile in profiles],
    )
    return identifiers


async def redact_columns(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[str],
    identifiers: Iterable[str],
    lead_ids: Sequence[UUID] = (),
    where: str = "TRUE",
) -> None:
    """Replace the identifiers inside text columns of the rows holding any (where may use lead ids as $2)."""
    names = sorted({i.lower() for i in identifiers})
    if not names:
        return
    pattern = "(" + "|".join(re.escape(n) for n in names) + ")"
    for column in columns:
        await conn.execute(
            f"UPDATE {table} SET {column} = regexp_replace({column}, $3, '{ERASED}', 'gi')"
            f" WHERE cardinality($2::uuid[]) >= 0 AND ({where}) AND lower({column}) LIKE ANY($1::text[])",
            like_any(names),
            list(lead_ids),
            pattern,
        )


async def redact_json_columns(
    conn: asyncpg.Connection,
    table: str,
    key: str,
    columns: Sequence[str],
    identifiers: Iterable[str],
    lead_ids: Sequence[UUID] = (),
    where: str = "FALSE",
) -> None:
    """Pseudonymise jsonb columns of the rows that match where (lead ids as $2) or hold any identifier."""
    names = sorted({i.lower() for i in identifiers})
    for column in columns:
        rows = await conn.fetch(
            f"SELECT {key} AS k, {column} AS v FROM {table}"
            f" WHERE {column} IS NOT NULL AND cardinality($2::uuid[]) >= 0"
            f" AND (({where}) OR lower({column}::text) LIKE ANY($1::text[]))",
            like_any(names),
            list(lead_ids),
        )
        for row in rows:
            cleaned = redact(row["v"], names)
            if cleaned != row["v"]:
                await conn.execute(f"UPDATE {table} SET {column} = $1 WHERE {key} = $2", cleaned, row["k"])


EraseSchema = Callable[[asyncpg.Connection, Sequence[UUID]], Awaitable[frozenset[str]]]


async def honour(
    uow: UnitOfWork,
    request: PersonErasureRequested,
    causation: Envelope,
    confirmation: type[PersonErased],
    erase: EraseSchema,
) -> None:
    """Erase the person in this service's schema (erase answers the identifiers it found), then its outbox
    rows, and confirm: one unit of work, so a redelivery either finds it all done or does it all again."""
    identifiers = await erase(uow.conn, request.lead_ids)
    await erase_outbox(uow.conn, request.lead_ids, identifiers)
    await erase_timeline(uow.conn, request.lead_ids)
    await remember_erased(uow.conn, request.lead_ids)
    service = confirmation.event_type.split(".", 1)[0]
    await uow.outbox.emit(confirmation(request_id=request.request_id, service=service), causation=causation)
