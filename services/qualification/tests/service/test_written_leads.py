"""A lead just written is judged on the profile as reading its row back would give it, without reading it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from leadflow_devstack.builders import address, profile, touch
from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.adapters.repository import LeadRow, NewLead
from leadflow_shared.contracts.lead import Campaign, Channel, Consent, LeadProfile, QualifyingAnswers

pytestmark = pytest.mark.service

# Keys jsonb stores in another order (shorter first), and numbers JSON may bring back in another type.
CUSTOM = {
    "sap_customer_number": "C-1007",
    "tier": "gold",
    "employees_2025": 1e16,
    "ratio": 0.25,
    "x": [1, {"b": 1, "a": 2}],
}


# Ingrid Solberg, who runs Bergen Shipping: a profile with every kind of field filled.
INGRID: dict[str, Any] = {
    "first_name": "Ingrid",
    "last_name": "Solberg",
    "phone": "+4755123456",
    "company": "Bergen Shipping AS",
    "seniority": "c_level",
    "country": "NO",
    "industry": "Logistics",
    "company_size": 1200,
    "consent": Consent(email=True),
    "answers": QualifyingAnswers(need="Ærlig talt: too many spreadsheets", budget="NOK 500k"),
    "custom_fields": CUSTOM,
}


def ingrid(**changes: Any) -> LeadProfile:
    """Ingrid, at an address of her own."""
    return profile(INGRID, {"email": address("Ingrid", "bergen-shipping.example")}, changes)


TOUCH = touch(
    channel=Channel.PAID_ADS,
    source_system="linkedin",
    source_id="lead-gen-77",
    campaign=Campaign(utm_source="linkedin", utm_campaign="nordics-q4"),
    occurred_at=datetime(2026, 11, 26, 14, 30, 15, 123456, tzinfo=UTC),
)


@pytest_asyncio.fixture
async def conn(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with pool.acquire() as conn:
        yield conn


async def read_back(conn: asyncpg.Connection, lead_id: uuid.UUID) -> LeadRow:
    lead = await repo.lock_lead(conn, lead_id)
    assert lead is not None
    return lead


def same(written: LeadRow, read: LeadRow) -> None:
    assert written == read
    assert written.profile.model_dump_json() == read.profile.model_dump_json()
    assert written.touch is not None
    assert read.touch is not None
    assert written.touch.model_dump_json() == read.touch.model_dump_json()


async def test_a_captured_lead_is_the_lead_its_row_gives_back(conn):
    plain = NewLead(uuid.uuid4(), "open", "open", ingrid(custom_fields={}), TOUCH)
    custom = NewLead(uuid.uuid4(), "open", "open", ingrid(), TOUCH)
    written = await repo.insert_leads(conn, [plain, custom])
    assert [lead.id for lead in written] == [plain.id, custom.id]
    for lead in written:
        same(lead, await read_back(conn, lead.id))
    assert written[0].profile is plain.profile
    assert list(written[1].profile.custom_fields) != list(CUSTOM)  # jsonb's order, as read back
    assert isinstance(written[1].profile.custom_fields["employees_2025"], int)


async def test_a_lead_captured_again_is_not_written_nor_answered(conn):
    first = NewLead(uuid.uuid4(), "open", "open", ingrid(), TOUCH)
    await repo.insert_leads(conn, [first])
    assert await repo.insert_leads(conn, [first._replace(profile=ingrid(first_name="Inga"))]) == []
    assert (await read_back(conn, first.id)).profile.first_name == "Ingrid"


async def test_an_updated_lead_is_the_lead_its_row_gives_back(conn):
    ids = [uuid.uuid4(), uuid.uuid4()]
    await repo.insert_leads(conn, [NewLead(lead_id, "open", "open", ingrid(), TOUCH) for lead_id in ids])
    changed = [
        (ids[0], ingrid(company_size=1300, custom_fields={"tier": "platinum", "a": 1.0})),
        (ids[1], ingrid()),
    ]
    written = await repo.update_profiles(conn, [*changed, (uuid.uuid4(), ingrid())])
    assert sorted(lead.id for lead in written) == sorted(ids)
    for lead in written:
        same(lead, await read_back(conn, lead.id))
    assert {lead.id: lead.profile.company_size for lead in written}[ids[0]] == 1300
