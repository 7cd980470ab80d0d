from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from leadflow_devstack import builders
from leadflow_devstack.builders import profile
from leadflow_nurture.domain.matching import LeadContext, choose_track, should_archive
from leadflow_nurture.domain.tracks import DEFAULT_TRACKS, EntrySource, Track
from leadflow_shared.contracts.events import (
    DisqualificationReason,
    LeadStatusChanged,
    OpportunityLost,
)

from .builders import ANA_ID, track_data

ANA = profile(first_name="Ana", last_name="Ferreira", email=None, country="PT", industry="Logistics")


def disqualified(reason: DisqualificationReason, fit: float = 62.0) -> LeadContext:
    event = builders.disqualified(
        lead_id=ANA_ID, reason=reason, profile=ANA, fit_score=fit, engagement_score=4.0
    )
    return LeadContext.from_disqualified(event)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (DisqualificationReason.NO_NEED, "newsletter"),
        (DisqualificationReason.NO_AUTHORITY, "webinar"),
        (DisqualificationReason.NO_BUDGET, "budget-drip"),
        (DisqualificationReason.UNRESPONSIVE, "re-engage"),
    ],
)
def test_each_nurturable_reason_gets_its_default_track(reason: DisqualificationReason, expected: str) -> None:
    chosen = choose_track(DEFAULT_TRACKS, disqualified(reason))

    assert chosen is not None
    assert chosen.name == expected


def test_a_lost_opportunity_goes_to_win_back() -> None:
    lost = OpportunityLost(
        opportunity_id=UUID(int=7),
        lead_id=ANA_ID,
        contact_id=UUID(int=8),
        amount=Decimal(48000),
        lost_reason="price",
    )

    chosen = choose_track(DEFAULT_TRACKS, LeadContext.from_opportunity_lost(lost, ANA))

    assert chosen is not None
    assert chosen.name == "win-back"


def test_a_lead_moved_to_nurturing_by_hand_keeps_a_reason_it_names() -> None:
    moved = LeadStatusChanged(
        lead_id=ANA_ID, from_status="contacted", to_status="nurturing", category="unqualified",
        reason="no_budget", actor="maria.santos@example.com",
    )  # fmt: skip

    context = LeadContext.from_status_changed(moved, ANA)
    chosen = choose_track(DEFAULT_TRACKS, context)

    assert context.source is EntrySource.NURTURING
    assert chosen is not None
    assert chosen.name == "budget-drip"


def test_a_free_text_reason_falls_through_to_the_fallback_track() -> None:
    moved = LeadStatusChanged(
        lead_id=ANA_ID, from_status="open", to_status="nurturing", category="unqualified",
        reason="call back after the summer", actor="maria.santos@example.com",
    )  # fmt: skip

    chosen = choose_track(DEFAULT_TRACKS, LeadContext.from_status_changed(moved))

    assert chosen is not None
    assert chosen.name == "re-engage"


def test_the_first_matching_track_wins() -> None:
    portugal = Track.model_validate(track_data("portugal-drip", entry={"countries": ["PT"]}))
    everyone = Track.model_validate(track_data("everyone"))

    chosen = choose_track([portugal, everyone], disqualified(DisqualificationReason.NO_BUDGET))

    assert chosen is portugal


def test_fit_bounds_country_and_industry_must_all_hold() -> None:
    strong_logistics = Track.model_validate(
        track_data(entry={"min_fit": 70, "countries": ["PT", "ES"], "industries": ["logistics"]})
    )

    assert (
        choose_track([strong_logistics], disqualified(DisqualificationReason.NO_BUDGET, fit=85)) is not None
    )
    assert choose_track([strong_logistics], disqualified(DisqualificationReason.NO_BUDGET, fit=55)) is None


def test_a_condition_on_an_unknown_field_does_not_match() -> None:
    german_only = Track.model_validate(track_data(entry={"countries": ["DE"]}))
    nowhere = LeadContext(source=EntrySource.NURTURING)

    assert choose_track([german_only], nowhere) is None


def test_lost_reasons_match_without_regard_to_case() -> None:
    competitor = Track.model_validate(
        track_data(
            "competitor-win-back", entry={"sources": ["opportunity_lost"], "lost_reasons": ["Competitor"]}
        )
    )

    context = LeadContext(source=EntrySource.OPPORTUNITY_LOST, lost_reason="competitor ")

    assert choose_track([competitor], context) is competitor
    assert choose_track([competitor], context.model_copy(update={"lost_reason": "price"})) is None


def test_no_track_matches_when_none_takes_the_source() -> None:
    assert choose_track(DEFAULT_TRACKS.tracks[:3], LeadContext(source=EntrySource.OPPORTUNITY_LOST)) is None


@pytest.mark.parametrize("reason", [DisqualificationReason.NOT_ICP, DisqualificationReason.INVALID])
def test_not_icp_and_invalid_leads_are_archived_with_their_reason(reason: DisqualificationReason) -> None:
    decision = should_archive(reason, nurturable=True)

    assert decision is not None
    assert decision.reason is reason
    assert decision.explanation.startswith(reason.value)


def test_a_lead_qualification_marked_not_nurturable_is_archived() -> None:
    decision = should_archive(DisqualificationReason.NO_BUDGET, nurturable=False)

    assert decision is not None
    assert "not nurturable" in decision.explanation


def test_a_nurturable_lead_without_budget_is_not_archived() -> None:
    assert should_archive(DisqualificationReason.NO_BUDGET, nurturable=True) is None
