"""Which track a lead enters, and which leads nurture archives instead."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from leadflow_nurture.domain.tracks import EntryConditions, EntrySource, Track, TrackSet
from leadflow_shared.contracts.events import (
    DisqualificationReason,
    LeadDisqualified,
    LeadStatusChanged,
    OpportunityLost,
)
from leadflow_shared.contracts.lead import LeadProfile

ARCHIVED_REASONS: frozenset[DisqualificationReason] = frozenset(
    {DisqualificationReason.NOT_ICP, DisqualificationReason.INVALID}
)
"""Reasons no nurture can fix: the lead is archived whatever qualification said about nurturing."""


class LeadContext(BaseModel):
    """What matching knows about a lead arriving at nurture; unknown fields fail the conditions on them."""

    model_config = ConfigDict(frozen=True)

    source: EntrySource
    reason: DisqualificationReason | None = None
    fit_score: float | None = None
    country: str | None = None
    industry: str | None = None
    lost_reason: str | None = None

    @classmethod
    def from_disqualified(cls, event: LeadDisqualified) -> LeadContext:
        """The context of a lead qualification disqualified."""
        return cls(
            source=EntrySource.DISQUALIFIED,
            reason=event.reason,
            fit_score=event.fit_score,
            country=event.profile.country,
            industry=event.profile.industry,
        )

    @classmethod
    def from_status_changed(
        cls, event: LeadStatusChanged, profile: LeadProfile | None = None, fit_score: float | None = None
    ) -> LeadContext:
        """The context of a lead moved to nurturing; its reason code (or a reason naming one) counts."""
        reason = (event.reason_code or event.reason).strip().lower()
        known = {member.value for member in DisqualificationReason}
        return cls(
            source=EntrySource.NURTURING,
            reason=DisqualificationReason(reason) if reason in known else None,
            fit_score=fit_score,
            country=profile.country if profile else None,
            industry=profile.industry if profile else None,
        )

    @classmethod
    def from_opportunity_lost(cls, event: OpportunityLost, profile: LeadProfile | None = None) -> LeadContext:
        """The context of a lead whose opportunity closed lost."""
        return cls(
            source=EntrySource.OPPORTUNITY_LOST,
            lost_reason=event.lost_reason,
            country=profile.country if profile else None,
            industry=profile.industry if profile else None,
        )


def matches(entry: EntryConditions, lead: LeadContext) -> bool:
    """Whether a lead meets every entry condition of a track."""
    if entry.sources and lead.source not in entry.sources:
        return False
    if entry.reasons and lead.reason not in entry.reasons:
        return False
    if entry.min_fit is not None and (lead.fit_score is None or lead.fit_score < entry.min_fit):
        return False
    if entry.max_fit is not None and (lead.fit_score is None or lead.fit_score > entry.max_fit):
        return False
    if entry.countries and (lead.country or "").strip().upper() not in entry.countries:
        return False
    if entry.industries and (lead.industry or "").strip().casefold() not in entry.industries:
        return False
    return not (entry.lost_reasons and (lead.lost_reason or "").strip().casefold() not in entry.lost_reasons)


def choose_track(tracks: TrackSet | Iterable[Track], lead: LeadContext) -> Track | None:
    """The first track, in order, whose entry conditions the lead meets; None when none does."""
    candidates = tracks.tracks if isinstance(tracks, TrackSet) else tracks
    return next((track for track in candidates if matches(track.entry, lead)), None)


@dataclass(frozen=True)
class ArchiveDecision:
    """Nurture will not take this lead: it is archived, and why."""

    reason: DisqualificationReason
    explanation: str


def should_archive(reason: DisqualificationReason, nurturable: bool) -> ArchiveDecision | None:
    """Whether a disqualified lead is archived rather than nurtured (not_icp and invalid always are)."""
    if reason in ARCHIVED_REASONS:
        return ArchiveDecision(reason, f"{reason.value}: no nurture track can make this lead a fit")
    if not nurturable:
        return ArchiveDecision(reason, f"{reason.value}: qualification marked the lead not nurturable")
    return None
