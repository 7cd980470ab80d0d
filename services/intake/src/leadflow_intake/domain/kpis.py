"""Source KPI rates: how often a delivery reached a lead known already, and how much went to quarantine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceRates:
    """A period's rates, rounded to four places; 0.0 when there was nothing to count."""

    duplicate_rate: float
    rejection_rate: float


def source_rates(*, touches: int, new_leads: int, merged_leads: int, rejections: int) -> SourceRates:
    """The share of touches that reached a lead seen before, and of deliveries that were rejected."""
    # A lead created in the period and merged away since was a duplicate too, so it counts as seen again.
    seen_again = touches - new_leads + merged_leads
    deliveries = touches + rejections
    return SourceRates(
        duplicate_rate=round(seen_again / touches, 4) if touches else 0.0,
        rejection_rate=round(rejections / deliveries, 4) if deliveries else 0.0,
    )
