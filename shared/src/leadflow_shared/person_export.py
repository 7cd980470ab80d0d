"""Export (GDPR art. 15/20): one route per service that answers everything it holds about a person."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from leadflow_shared.bounds import Name
from leadflow_shared.http import BEARER_ANSWERS, AdminAccess, answers
from leadflow_shared.runtime import runtime_of

# The leads of a person: by email (lower-cased) or by a lead id (which a service may widen, e.g. to merges).
Resolve = Callable[[asyncpg.Connection, str | None, UUID | None], Awaitable[list[UUID]]]


class PersonExport(BaseModel):
    """What one service holds about a person: its rows by table, each row as stored."""

    service: str
    lead_ids: list[UUID]
    records: dict[str, list[dict[str, Any]]]


def export_router(service: str, resolve: Resolve, tables: Mapping[str, str]) -> APIRouter:
    """`GET /v1/people/export?email=|lead_id=` (admin); each query of tables takes the lead ids as $1."""
    router = APIRouter(prefix="/v1", tags=["people"], responses=answers(*BEARER_ANSWERS))

    @router.get("/people/export", responses=answers(422))
    async def export_person(
        request: Request,
        _: AdminAccess,
        email: Annotated[Name | None, Query()] = None,
        lead_id: UUID | None = None,
    ) -> PersonExport:
        """Everything this service holds about the person with this email or lead (art. 15/20)."""
        if (email is None) == (lead_id is None):
            raise RequestValidationError(
                [{"loc": ("query",), "msg": "give exactly one of email and lead_id", "type": "value_error"}]
            )
        async with runtime_of(request).pool.acquire() as conn:
            lead_ids = await resolve(conn, email.strip().lower() if email else None, lead_id)
            records = {
                name: [dict(r) for r in await conn.fetch(sql, lead_ids)] for name, sql in tables.items()
            }
        return PersonExport(service=service, lead_ids=lead_ids, records=records)

    return router


def read_model_resolver(extra_email_sql: str = "") -> Resolve:
    """Resolve a person through the `leads` read model's profile email (and optional SQL giving more ids)."""

    async def resolve(conn: asyncpg.Connection, email: str | None, lead_id: UUID | None) -> list[UUID]:
        if lead_id is not None:
            return [lead_id]
        sql = "SELECT id FROM leads WHERE lower(profile->>'email') = $1"
        rows = await conn.fetch(f"{sql} UNION {extra_email_sql}" if extra_email_sql else sql, email)
        return sorted(r[0] for r in rows)

    return resolve
