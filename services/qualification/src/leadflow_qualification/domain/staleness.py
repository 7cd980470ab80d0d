"""Whether a lead has waited too long in its status: fresh, stale (someone should act), or unresponsive."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

from leadflow_qualification.domain.statuses import TERMINAL_CATEGORIES, BaseCategory
from leadflow_shared.bounds import Hours


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Freshness(StrEnum):
    """The verdict on a lead's idle time."""

    FRESH = "fresh"
    STALE = "stale"
    DISQUALIFY_UNRESPONSIVE = "disqualify_unresponsive"


class CategoryLimit(_Frozen):
    """Hours without progress before a lead in one category is stale, and before it counts as unresponsive."""

    stale_after_hours: Hours
    unresponsive_after_hours: Hours | None = None

    @model_validator(mode="after")
    def _unresponsive_after_stale(self) -> Self:
        if (
            self.unresponsive_after_hours is not None
            and self.unresponsive_after_hours <= self.stale_after_hours
        ):
            raise ValueError(
                f"unresponsive_after_hours {self.unresponsive_after_hours} must exceed "
                f"stale_after_hours {self.stale_after_hours}"
            )
        return self


class StalenessLimits(_Frozen):
    """Limits per base category; categories without a limit (nurturing, terminal ones) are never stale."""

    limits: dict[BaseCategory, CategoryLimit]

    @model_validator(mode="after")
    def _only_working_categories(self) -> Self:
        bad = sorted(c.value for c in self.limits if c in TERMINAL_CATEGORIES or c is BaseCategory.NURTURING)
        if bad:
            raise ValueError(
                f"no staleness limit for {bad}: terminal and nurturing leads are not worked by sales"
            )
        return self


# Open leads are never disqualified as unresponsive: nobody has reached out yet, so the silence is ours.
DEFAULT_STALENESS_LIMITS = StalenessLimits(
    limits={
        BaseCategory.OPEN: CategoryLimit(stale_after_hours=24),
        BaseCategory.CONTACTED: CategoryLimit(stale_after_hours=72, unresponsive_after_hours=14 * 24),
        BaseCategory.QUALIFIED: CategoryLimit(stale_after_hours=48),
        BaseCategory.UNQUALIFIED: CategoryLimit(stale_after_hours=24),
    }
)


class StalenessVerdict(_Frozen):
    """Fresh, stale or unresponsive, with the idle hours and the limit that applied."""

    freshness: Freshness
    idle_hours: float
    limit_hours: float | None
    reason: str


def assess_staleness(
    category: BaseCategory,
    entered_at: datetime,
    last_progress_at: datetime | None,
    limits: StalenessLimits,
    now: datetime,
) -> StalenessVerdict:
    """Judge a lead's idle time since it entered its status or last made progress, whichever is later."""
    since = max(entered_at, last_progress_at) if last_progress_at else entered_at
    idle = max(0.0, (now - since).total_seconds() / 3600)
    limit = limits.limits.get(category)
    if limit is None:
        return StalenessVerdict(
            freshness=Freshness.FRESH,
            idle_hours=idle,
            limit_hours=None,
            reason=f"{category} leads never go stale",
        )
    if limit.unresponsive_after_hours is not None and idle >= limit.unresponsive_after_hours:
        return StalenessVerdict(
            freshness=Freshness.DISQUALIFY_UNRESPONSIVE,
            idle_hours=idle,
            limit_hours=limit.unresponsive_after_hours,
            reason=(
                f"no progress for {idle:.0f}h in {category}, "
                f"unresponsive after {limit.unresponsive_after_hours:g}h"
            ),
        )
    if idle >= limit.stale_after_hours:
        return StalenessVerdict(
            freshness=Freshness.STALE,
            idle_hours=idle,
            limit_hours=limit.stale_after_hours,
            reason=f"no progress for {idle:.0f}h in {category}, stale after {limit.stale_after_hours:g}h",
        )
    return StalenessVerdict(
        freshness=Freshness.FRESH,
        idle_hours=idle,
        limit_hours=limit.stale_after_hours,
        reason=f"{idle:.0f}h idle in {category}, stale after {limit.stale_after_hours:g}h",
    )
