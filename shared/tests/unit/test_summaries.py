"""Each event about a lead reads as one line on its timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

from leadflow_shared.contracts import events as ev
from leadflow_shared.contracts.summaries import _SUMMARIES, MAX_SUMMARY, summarise

LEAD = uuid4()


def test_every_event_of_the_services_own_topics_has_a_summary_of_its_own() -> None:
    services = {m for m in ev.EVENT_MODELS if m.topic.endswith(".events")}
    assert services - set(_SUMMARIES) == set()


def test_summaries_say_what_happened_in_words() -> None:
    exhausted = ev.NurtureExhausted(
        lead_id=LEAD, track="budget-drip", enrollment_id=uuid4(), next=ev.ExhaustedNext.ARCHIVE
    )
    opened = ev.OpportunityOpened(
        opportunity_id=uuid4(),
        lead_id=LEAD,
        account_id=uuid4(),
        contact_id=uuid4(),
        name="Fjord Freight AS - new business",
        amount=Decimal("80000"),
        close_date=date(2027, 3, 31),
        stage="prospecting",
    )
    engaged = ev.LeadEngaged(
        lead_id=LEAD,
        activity_id="crm-1",
        activity_type="trigger",
        occurred_at=datetime.now(UTC),
        trigger="budget_approved",
    )
    assert summarise(exhausted) == "track budget-drip exhausted: archived"
    assert summarise(opened).endswith("opened at prospecting: 80000, closing 2027-03-31")
    assert summarise(engaged) == "engaged: trigger, trigger budget_approved"


def test_a_long_reason_is_cut_to_the_summary_limit() -> None:
    changed = ev.LeadStatusChanged(
        lead_id=LEAD,
        from_status="open",
        to_status="unqualified",
        category="unqualified",
        reason="x" * 2000,
        actor="rule",
    )
    assert len(summarise(changed)) == MAX_SUMMARY
    assert summarise(changed).endswith("…")
