"""Lead statuses: the seven base categories, an organisation's catalog of statuses, and allowed transitions.

`nurturing` is a base category of its own (not a flavour of `unqualified`): it has its own exits
(back to open/contacted/qualified when nurture requalifies a lead) that `unqualified` must not have.
The shipped `nurturing` status is marked `custom` because the design lists it as a custom status that
ships by default; organisations may add more statuses to it like to any other category.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class BaseCategory(StrEnum):
    """What a status means to the pipeline, whatever the organisation calls it."""

    OPEN = "open"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    UNQUALIFIED = "unqualified"
    NURTURING = "nurturing"
    CONVERTED = "converted"
    ARCHIVED = "archived"


TERMINAL_CATEGORIES: frozenset[BaseCategory] = frozenset({BaseCategory.CONVERTED, BaseCategory.ARCHIVED})

ALLOWED_TRANSITIONS: dict[BaseCategory, frozenset[BaseCategory]] = {
    BaseCategory.OPEN: frozenset(
        {
            BaseCategory.CONTACTED,
            BaseCategory.QUALIFIED,
            BaseCategory.UNQUALIFIED,
            BaseCategory.NURTURING,
            BaseCategory.ARCHIVED,
        }
    ),
    BaseCategory.CONTACTED: frozenset(
        {BaseCategory.QUALIFIED, BaseCategory.UNQUALIFIED, BaseCategory.NURTURING, BaseCategory.ARCHIVED}
    ),
    BaseCategory.QUALIFIED: frozenset({BaseCategory.CONVERTED, BaseCategory.UNQUALIFIED}),
    BaseCategory.UNQUALIFIED: frozenset({BaseCategory.NURTURING, BaseCategory.ARCHIVED, BaseCategory.OPEN}),
    BaseCategory.NURTURING: frozenset(
        {
            BaseCategory.OPEN,
            BaseCategory.CONTACTED,
            BaseCategory.QUALIFIED,
            BaseCategory.UNQUALIFIED,
            BaseCategory.ARCHIVED,
        }
    ),
    BaseCategory.ARCHIVED: frozenset({BaseCategory.OPEN}),
    BaseCategory.CONVERTED: frozenset(),
}

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class StatusError(ValueError):
    """A status or transition the catalog refuses."""


class UnknownStatus(StatusError):
    """The status is not in the organisation's catalog."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(f"unknown status {name!r}; known statuses: {', '.join(self.known)}")


class InvalidCustomStatus(StatusError):
    """A custom status that cannot be added (bad name, duplicate, unknown base category)."""


class TransitionNotAllowed(StatusError):
    """The lead cannot move from its current status to the target."""

    def __init__(self, current: str | None, target: str, allowed: tuple[str, ...]) -> None:
        self.current = current
        self.target = target
        self.allowed = allowed
        shown = ", ".join(allowed) if allowed else "none"
        super().__init__(f"a lead in status {current!r} cannot move to {target!r}; allowed: {shown}")


class LeadStatus(BaseModel):
    """One status of the catalog: its name, its base category, whether it ends the lead's journey."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    category: BaseCategory
    custom: bool = False
    description: str = ""

    @property
    def terminal(self) -> bool:
        """Converted and archived end the pipeline (archived can still be re-opened by a trigger)."""
        return self.category in TERMINAL_CATEGORIES


DEFAULT_STATUSES: tuple[LeadStatus, ...] = (
    LeadStatus(name="open", category=BaseCategory.OPEN, description="entered, nobody has reached out yet"),
    LeadStatus(name="contacted", category=BaseCategory.CONTACTED, description="first contact made"),
    LeadStatus(name="qualified", category=BaseCategory.QUALIFIED, description="ready to convert"),
    LeadStatus(name="unqualified", category=BaseCategory.UNQUALIFIED, description="unlikely to buy now"),
    LeadStatus(
        name="nurturing",
        category=BaseCategory.NURTURING,
        custom=True,
        description="has potential but is not in a buying cycle",
    ),
    LeadStatus(name="converted", category=BaseCategory.CONVERTED, description="became an account + contact"),
    LeadStatus(name="archived", category=BaseCategory.ARCHIVED, description="not ICP, or nurture exhausted"),
)


class StatusCatalog(BaseModel):
    """The statuses an organisation uses; the first status of each category is that category's default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    statuses: tuple[LeadStatus, ...] = Field(default=DEFAULT_STATUSES)

    @model_validator(mode="after")
    def _every_category_has_a_status_and_names_are_unique(self) -> StatusCatalog:
        seen: set[str] = set()
        for status in self.statuses:
            if not _NAME.match(status.name):
                raise ValueError(
                    f"status name {status.name!r} must be lower_snake_case, at most 63 characters"
                )
            if status.name in seen:
                raise ValueError(f"duplicate status name {status.name!r}")
            seen.add(status.name)
        missing = [c.value for c in BaseCategory if not any(s.category is c for s in self.statuses)]
        if missing:
            raise ValueError(f"every base category needs a status; missing: {', '.join(missing)}")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """Every status name, in catalog order."""
        return tuple(s.name for s in self.statuses)

    def get(self, name: str) -> LeadStatus:
        """The status called `name`, or UnknownStatus."""
        for status in self.statuses:
            if status.name == name:
                return status
        raise UnknownStatus(name, self.names)

    def category_of(self, name: str) -> BaseCategory:
        """The base category of the status called `name`."""
        return self.get(name).category

    def default_for(self, category: BaseCategory) -> LeadStatus:
        """The status a rule moves a lead to when it targets `category`."""
        return next(s for s in self.statuses if s.category is category)

    def in_category(self, category: BaseCategory) -> tuple[LeadStatus, ...]:
        """Every status mapped onto `category`."""
        return tuple(s for s in self.statuses if s.category is category)

    def with_custom_status(self, name: str, category: str, description: str = "") -> StatusCatalog:
        """A new catalog with one more custom status; refuses bad names, duplicates, unknown categories."""
        try:
            base = BaseCategory(category)
        except ValueError:
            known = ", ".join(c.value for c in BaseCategory)
            raise InvalidCustomStatus(
                f"custom status {name!r}: unknown base category {category!r}; use one of: {known}"
            ) from None
        if not _NAME.match(name):
            raise InvalidCustomStatus(
                f"custom status {name!r}: a name must be lower_snake_case (a-z, 0-9, _), at most 63 chars"
            )
        if name in self.names:
            raise InvalidCustomStatus(f"custom status {name!r}: a status with this name already exists")
        added = LeadStatus(name=name, category=base, custom=True, description=description)
        return StatusCatalog(statuses=(*self.statuses, added))

    def allowed_targets(self, current: str | None) -> tuple[str, ...]:
        """Every status a lead in `current` may move to (None: a lead not yet in the pipeline)."""
        if current is None:
            return tuple(s.name for s in self.in_category(BaseCategory.OPEN))
        here = self.get(current)
        reachable = ALLOWED_TRANSITIONS[here.category]
        return tuple(
            s.name
            for s in self.statuses
            if s.name != here.name
            and (s.category in reachable or (s.category is here.category and not here.terminal))
        )


DEFAULT_CATALOG = StatusCatalog()


def check_transition(catalog: StatusCatalog, current: str | None, target: str) -> LeadStatus:
    """The target status if a lead in `current` may move to it; TransitionNotAllowed otherwise.

    Moving between two statuses of the same non-terminal category (e.g. `contacted` to a custom
    `meeting_booked`) is allowed: it is progress inside one step of the funnel.
    """
    target_status = catalog.get(target)
    allowed = catalog.allowed_targets(current)
    if target not in allowed:
        raise TransitionNotAllowed(current, target, allowed)
    return target_status


@functools.cache
def category_path(start: BaseCategory, goal: BaseCategory) -> tuple[BaseCategory, ...] | None:
    """The shortest chain of allowed category moves from start to goal (start excluded); None: unreachable.

    The transitions are fixed, so each of the 49 answers is worked out once.
    """
    if start is goal:
        return ()
    frontier: list[tuple[BaseCategory, tuple[BaseCategory, ...]]] = [(start, ())]
    seen = {start}
    while frontier:
        next_frontier: list[tuple[BaseCategory, tuple[BaseCategory, ...]]] = []
        for here, path in frontier:
            for step in (c for c in BaseCategory if c in ALLOWED_TRANSITIONS[here]):
                if step in seen:
                    continue
                if step is goal:
                    return (*path, step)
                seen.add(step)
                next_frontier.append((step, (*path, step)))
        frontier = next_frontier
    return None
