"""Funnel KPIs from the figures the database counts per group of leads: rates, medians, the report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

from leadflow_qualification.domain.statuses import BaseCategory
from leadflow_shared.contracts.events import DisqualificationReason


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GroupBy(StrEnum):
    """What a report can be split by."""

    SOURCE = "source"
    CAMPAIGN = "campaign"
    OWNER = "owner"


FUNNEL_STEPS: tuple[tuple[BaseCategory, BaseCategory], ...] = (
    (BaseCategory.OPEN, BaseCategory.CONTACTED),
    (BaseCategory.CONTACTED, BaseCategory.QUALIFIED),
    (BaseCategory.QUALIFIED, BaseCategory.CONVERTED),
    (BaseCategory.OPEN, BaseCategory.QUALIFIED),
    (BaseCategory.OPEN, BaseCategory.CONVERTED),
)
"""Each step: of the leads that entered the first category, the share that entered the second later."""

NO_GROUP = "(none)"
DISQUALIFIED = frozenset({BaseCategory.UNQUALIFIED, BaseCategory.NURTURING, BaseCategory.ARCHIVED})
"""The categories whose reasons count as disqualification reasons."""
REASONS = frozenset(r.value for r in DisqualificationReason)


class FunnelReport(_Frozen):
    """The KPIs of one set of leads."""

    leads: int
    by_status: dict[str, int]
    by_category: dict[BaseCategory, int]
    conversion: dict[str, float | None]
    median_hours_to_first_contact: float | None
    median_hours_in_status: dict[str, float]
    stale: int
    unresponsive: int
    disqualification_reasons: dict[str, int]


@dataclass(frozen=True)
class Middles:
    """How many durations there are and their lower and upper middle (equal when the count is odd), in µs."""

    count: int
    lower_us: int
    upper_us: int


def hours(microseconds: int) -> float:
    """A duration in hours, computed as timedelta.total_seconds() / 3600 computes it."""
    return microseconds / 10**6 / 3600


def median_hours(middles: Middles) -> float:
    """The median duration in hours to two decimals, as statistics.median and round give it."""
    lower = hours(middles.lower_us)
    return round(lower if middles.count % 2 else (lower + hours(middles.upper_us)) / 2, 2)


def idle_since(now: datetime, limit_hours: float) -> datetime:
    """The latest last change of a lead idle for at least `limit_hours` at `now`.

    The report counts a lead idle when extract(epoch FROM now - last change)::float8 / 3600 >= limit_hours.
    That float is correctly rounded from the exact microseconds, so it never decreases as they grow: the
    leads that pass are those idle for at least the fewest microseconds that pass, found here by bisection.
    """

    def passes(us: int) -> bool:
        return float(Fraction(us, 10**6)) / 3600 >= limit_hours

    low, high = 0, 1
    while not passes(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if passes(middle) else (middle, high)
    return now - timedelta(microseconds=high)


MAX_LEVEL = 10
"""The figures of whole days are kept per node: 2**lvl days from a multiple of 2**lvl, up to 2**10 days."""
_EPOCH = date(1970, 1, 1)

Node = tuple[int, int]
"""(lvl, number): the days [number * 2**lvl, (number + 1) * 2**lvl) counted from 1970-01-01."""


def day_of(moment: datetime) -> int:
    """The UTC day of a moment, counted from 1970-01-01."""
    return (moment.astimezone(UTC).date() - _EPOCH).days


def day_start(day: int) -> datetime:
    """The first moment of a UTC day counted from 1970-01-01."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)


def days_of(node: Node) -> range:
    """The days a node covers."""
    lvl, number = node
    return range(number << lvl, (number + 1) << lvl)


def nodes_covering(first: int, stop: int) -> list[Node]:
    """The fewest nodes that cover the days [first, stop) exactly, in order."""
    nodes: list[Node] = []
    day = first
    while day < stop:
        lvl = 0
        while lvl < MAX_LEVEL and day % (2 << lvl) == 0 and day + (2 << lvl) <= stop:
            lvl += 1
        nodes.append((lvl, day >> lvl))
        day += 1 << lvl
    return nodes


def nodes_within(first: int, stop: int) -> list[Node]:
    """Every node of every level that lies wholly inside the days [first, stop), by level, latest first."""
    return [
        (lvl, number)
        for lvl in range(MAX_LEVEL + 1)
        for number in range((stop >> lvl) - 1, -(-first >> lvl) - 1, -1)
    ]


def above(days: Iterable[int]) -> set[Node]:
    """The nodes of every level that hold one of the days."""
    return {(lvl, day >> lvl) for day in days for lvl in range(MAX_LEVEL + 1)}


@dataclass(frozen=True)
class CellsWork:
    """One round of keeping the cells: the changed days forgotten (with every node above them), the days
    built from the facts and the nodes built from their halves (by level), and whether work is left."""

    forget: list[int]
    days: list[int]
    nodes: list[Node]
    more: bool

    @property
    def done(self) -> bool:
        """Whether the round changed anything."""
        return bool(self.forget or self.days or self.nodes)


def cells_work(
    first: int | None, stop: int, changed: Iterable[int], built: set[Node], max_days: int, max_nodes: int
) -> CellsWork:
    """The work of one round, latest days first: forget up to `max_days` changed days, build up to
    `max_days` days and `max_nodes` nodes so that every node inside [first, stop) is built in the end."""
    pending = sorted(set(changed), reverse=True)
    forget = pending[:max_days]
    more = len(pending) > max_days
    if first is None:
        return CellsWork(forget, [], [], more)
    have = built - above(forget)
    wanted = nodes_within(first, stop)
    missing = [number for lvl, number in wanted if lvl == 0 and (0, number) not in have]
    days = missing[:max_days]
    more = more or len(missing) > max_days
    have |= {(0, day) for day in days}
    nodes: list[Node] = []
    for lvl, number in wanted:
        if not lvl or (lvl, number) in have:
            continue
        if len(nodes) < max_nodes and {(lvl - 1, 2 * number), (lvl - 1, 2 * number + 1)} <= have:
            nodes.append((lvl, number))
            have.add((lvl, number))
        else:
            more = True
    return CellsWork(forget, days, nodes, more)


def usable_nodes(nodes: Iterable[Node], built: set[Node], changed: set[int]) -> tuple[list[Node], list[int]]:
    """The built nodes without a changed day that cover `nodes`, and the days left to count from the facts."""
    usable: list[Node] = []
    days: list[int] = []
    pending = list(nodes)[::-1]
    while pending:
        lvl, number = node = pending.pop()
        if node in built and not any(day in days_of(node) for day in changed):
            usable.append(node)
        elif lvl == 0:
            days.append(number)
        else:
            pending.extend(((lvl - 1, 2 * number + 1), (lvl - 1, 2 * number)))
    return usable, days


def middle_ranks(count: int) -> tuple[int, int]:
    """The ranks (from 1) of the lower and upper middle of `count` sorted values."""
    return (count + 1) // 2, count // 2 + 1


BUCKETS_PER_DOUBLING = 8
BUCKET_THRESHOLDS = tuple(
    sorted({round(2 ** (i / BUCKETS_PER_DOUBLING)) for i in range(56 * BUCKETS_PER_DOUBLING)})
)
"""The database's duration buckets (migration 0005's funnel_bucket): bucket b > 0 holds the durations in
[BUCKET_THRESHOLDS[b - 1], BUCKET_THRESHOLDS[b]) µs, bucket 0 those below 1 µs."""


def bucket_value(bucket: int) -> int | None:
    """The one duration a bucket can hold, or None when it spans several: durations are never negative, so
    bucket 0 holds only 0, and the narrow buckets of the smallest durations hold one microsecond each."""
    if bucket == 0:
        return 0
    if bucket < len(BUCKET_THRESHOLDS) and BUCKET_THRESHOLDS[bucket] - BUCKET_THRESHOLDS[bucket - 1] == 1:
        return BUCKET_THRESHOLDS[bucket - 1]
    return None


def bucket_of_rank(histogram: Mapping[int, int], rank: int) -> tuple[int, int]:
    """The bucket that holds the value of a rank (from 1), and the value's rank within the bucket."""
    for bucket in sorted(histogram):
        if rank <= histogram[bucket]:
            return bucket, rank
        rank -= histogram[bucket]
    raise ValueError(f"rank {rank} beyond the histogram")


def conversion_rate(entered: int, reached: int) -> float | None:
    """Share of leads that entered a category and later entered the next; None when none entered."""
    return round(reached / entered, 4) if entered else None


@dataclass
class FunnelFigures:
    """What the database counts for one group of leads (their history, by lead, in time order).

    Each lead counts under its current (last) status. `steps` holds, per funnel step, how many leads entered
    its first category and how many of them entered the second at the same time or later. Time to first
    contact runs from the first open status to the first contacted one after it; time in a status runs
    from entering it to the next change, so the status a lead is still in does not count. The dicts keep
    the order in which their keys should be reported.
    """

    leads: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_category: dict[BaseCategory, int] = field(default_factory=dict)
    steps: dict[tuple[BaseCategory, BaseCategory], tuple[int, int]] = field(default_factory=dict)
    to_first_contact: Middles | None = None
    in_status: dict[str, Middles] = field(default_factory=dict)
    stale: int = 0
    unresponsive: int = 0
    disqualification_reasons: dict[str, int] = field(default_factory=dict)


def funnel_report(figures: FunnelFigures) -> FunnelReport:
    """The report of one group: the counts as they are, the rates and medians derived from them."""
    return FunnelReport(
        leads=figures.leads,
        by_status=figures.by_status,
        by_category=figures.by_category,
        conversion={
            f"{a}->{b}": conversion_rate(*figures.steps.get((a, b), (0, 0))) for a, b in FUNNEL_STEPS
        },
        median_hours_to_first_contact=(
            median_hours(figures.to_first_contact) if figures.to_first_contact else None
        ),
        median_hours_in_status={status: median_hours(m) for status, m in figures.in_status.items()},
        stale=figures.stale,
        unresponsive=figures.unresponsive,
        disqualification_reasons=figures.disqualification_reasons,
    )
