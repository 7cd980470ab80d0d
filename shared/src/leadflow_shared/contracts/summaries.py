"""One line in words for each event about a lead, as its timeline shows it; no personal data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leadflow_shared.contracts import events as ev

MAX_SUMMARY = 500


def _touch(touch: Any) -> str:
    campaign = touch.campaign.campaign_name or touch.campaign.utm_campaign
    return f"{touch.channel} via {touch.source_system}" + (f", campaign {campaign}" if campaign else "")


def _updated(e: ev.LeadUpdated) -> str:
    changed = f"; changed {', '.join(e.changed)}" if e.changed else "; no profile change"
    return f"seen again: {_touch(e.touch)}{changed}"


def _status(e: ev.LeadStatusChanged) -> str:
    return f"{e.from_status or 'new'} → {e.to_status} ({e.category}) by {e.actor}: {e.reason}"


def _qualified(e: ev.LeadQualified) -> str:
    how = " by hand" if e.manual else ""
    return (
        f"qualified{how} under criteria v{e.criteria_version}"
        f" (fit {e.fit_score:.0f}, engagement {e.engagement_score:.0f})"
    )


def _disqualified(e: ev.LeadDisqualified) -> str:
    how = " by hand" if e.manual else ""
    return f"disqualified{how}: {e.reason}, {'nurturable' if e.nurturable else 'not nurturable'}"


def _exhausted(e: ev.NurtureExhausted) -> str:
    follows = f"moved to {e.next_track}" if e.next == ev.ExhaustedNext.MOVE else "archived"
    return f"track {e.track} exhausted: {follows}"


def _erased(e: ev.PersonErased) -> str:
    return f"personal data erased by {e.service} (erasure {e.request_id})"


_SUMMARIES: dict[type[ev.EventData], Callable[[Any], str]] = {
    ev.LeadCaptured: lambda e: f"captured: {_touch(e.touch)}",
    ev.LeadUpdated: _updated,
    ev.LeadMerged: lambda e: f"duplicate {e.merged_id} merged into this lead",
    ev.LeadEngaged: lambda e: f"engaged: {e.activity_type}" + (f", trigger {e.trigger}" if e.trigger else ""),
    ev.LeadConsentChanged: lambda e: (
        f"{e.channel} consent {'given' if e.opted_in else 'withdrawn'}: {e.reason}"
    ),
    ev.LeadStatusChanged: _status,
    ev.LeadAssigned: lambda e: f"assigned to {e.owner}" + (f" ({e.team})" if e.team else ""),
    ev.LeadQualified: _qualified,
    ev.LeadDisqualified: _disqualified,
    ev.LeadConverted: lambda e: f"converted into account {e.account_id}, contact {e.contact_id}",
    ev.OpportunityOpened: lambda e: (
        f"opportunity {e.opportunity_id} opened at {e.stage}: {e.amount}, closing {e.close_date}"
    ),
    ev.OpportunityStageChanged: lambda e: (
        f"opportunity {e.opportunity_id}: {e.from_stage} → {e.to_stage} ({e.probability:.0%})"
    ),
    ev.OpportunityWon: lambda e: f"opportunity {e.opportunity_id} won: {e.amount}",
    ev.OpportunityLost: lambda e: f"opportunity {e.opportunity_id} lost ({e.lost_reason}): {e.amount}",
    ev.OpportunityUpdated: lambda e: (
        f"opportunity {e.opportunity_id} updated: "
        + ", ".join(
            f"amount {e.previous_amount} → {e.amount}"
            if field == "amount"
            else f"close date {e.previous_close_date} → {e.close_date}"
            for field in e.changed
        )
    ),
    ev.NurtureEnrolled: lambda e: f"enrolled in track {e.track} v{e.track_version}",
    ev.NurtureTouchSent: lambda e: f"touch {e.step} sent by {e.channel}",
    ev.LeadRequalificationRequested: lambda e: f"requalification requested: {e.reason}",
    ev.NurtureExhausted: _exhausted,
    ev.LeadUnmerged: lambda e: f"split from lead {e.survivor_id}: live again with its own touches",
    ev.NurtureConsentRecorded: lambda e: (
        f"{e.channel} consent {'given' if e.opted_in else 'withdrawn'} ({e.source}): {e.reason}"
    ),
    ev.PersonErasureRequested: lambda e: f"erasure {e.request_id} requested",
    ev.IntakePersonErased: _erased,
    ev.QualificationPersonErased: _erased,
    ev.OpportunityPersonErased: _erased,
    ev.NurturePersonErased: _erased,
}


def summarise(data: ev.EventData) -> str:
    """The event in one line for a lead's timeline; its type when no summary is written for it."""
    summary = _SUMMARIES.get(type(data))
    text = summary(data) if summary else data.event_type
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


def merged_summary(survivor: str) -> str:
    """The line on a merged-away lead's own timeline."""
    return f"merged into lead {survivor}"
