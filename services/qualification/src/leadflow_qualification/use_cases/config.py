"""The organisation's versioned configuration: criteria, statuses, assignment rules, staleness limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.domain.assignment import AssignmentPolicy
from leadflow_qualification.domain.criteria import DEFAULT_CRITERIA, Criteria, InvalidCriteria, parse_criteria
from leadflow_qualification.domain.decision import Rulebook
from leadflow_qualification.domain.staleness import DEFAULT_STALENESS_LIMITS, StalenessLimits
from leadflow_qualification.domain.statuses import DEFAULT_CATALOG, InvalidCustomStatus, StatusCatalog
from leadflow_shared.versioned_config import Found, KindsTable, lock_kind, store_version

CRITERIA, STATUSES, ASSIGNMENT, STALENESS = "criteria", "statuses", "assignment", "staleness"
# What serialises the writers of one kind (the advisory lock's key is "<namespace>:<kind>").
NAMESPACE = "qualification-config"


class InvalidConfig(ValueError):
    """A configuration the service refuses; `problems` names each one with its place."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Config:
    """The configuration in force, with the version of each part (0: the shipped default)."""

    criteria: Criteria
    catalog: StatusCatalog
    catalog_version: int
    assignment: AssignmentPolicy | None
    assignment_version: int
    staleness: StalenessLimits
    staleness_version: int
    # What judging works out of the criteria once, for every lead judged under them.
    rulebook: Rulebook = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rulebook", Rulebook.of(self.criteria))


DEFAULT_CONFIG = Config(DEFAULT_CRITERIA, DEFAULT_CATALOG, 0, None, 0, DEFAULT_STALENESS_LIMITS, 0)


class ConfigStore(KindsTable[Config]):
    """The service's configuration: criteria, statuses, assignment rules and staleness limits."""

    def __init__(self) -> None:
        super().__init__((CRITERIA, STATUSES, ASSIGNMENT, STALENESS), _build)


def _build(found: Found) -> Config:
    config = DEFAULT_CONFIG
    if CRITERIA in found:
        config = _replace(config, criteria=_parse(CRITERIA, found[CRITERIA][1]))
    if STATUSES in found:
        version, body = found[STATUSES]
        config = _replace(config, catalog=_parse(STATUSES, body), catalog_version=version)
    if ASSIGNMENT in found:
        version, body = found[ASSIGNMENT]
        config = _replace(config, assignment=_parse(ASSIGNMENT, body), assignment_version=version)
    if STALENESS in found:
        version, body = found[STALENESS]
        config = _replace(config, staleness=_parse(STALENESS, body), staleness_version=version)
    return config


def _problems(error: ValidationError) -> tuple[str, ...]:
    return InvalidCriteria.from_validation_error(error).problems


def _parse(kind: str, body: Mapping[str, Any]) -> Any:
    try:
        if kind == CRITERIA:
            return parse_criteria(body)
        if kind == STATUSES:
            return StatusCatalog.model_validate(body)
        if kind == ASSIGNMENT:
            return AssignmentPolicy.model_validate(body)
        return StalenessLimits.model_validate(body)
    except ValidationError as error:
        raise InvalidConfig(_problems(error)) from None
    except InvalidCriteria as error:
        raise InvalidConfig(error.problems) from None


def _replace(config: Config, **changes: Any) -> Config:
    fields = {k: v for k, v in config.__dict__.items() if k != "rulebook"}
    return Config(**{**fields, **changes})


async def put_criteria(conn: repo.Conn, body: Mapping[str, Any], actor: str) -> Criteria:
    """Store the next criteria version (the body's own version is ignored)."""
    stored = await lock_kind(conn, NAMESPACE, CRITERIA)
    version = (stored or DEFAULT_CRITERIA.version) + 1
    criteria: Criteria = _parse(CRITERIA, {**body, "version": version})
    await store_version(conn, CRITERIA, version, criteria.model_dump(mode="json"), actor=actor)
    return criteria


def proposed_criteria(body: Mapping[str, Any], current: Criteria) -> Criteria:
    """Criteria to try out, numbered as the next version."""
    parsed: Criteria = _parse(CRITERIA, {**body, "version": current.version + 1})
    return parsed


async def add_status(
    conn: repo.Conn, store: ConfigStore, name: str, category: str, description: str, actor: str
) -> StatusCatalog:
    """Store a catalog with one more custom status."""
    stored = await lock_kind(conn, NAMESPACE, STATUSES)
    # Read under the lock, so that two additions at once both stay.
    current = (await store.load(conn)).catalog
    try:
        catalog = current.with_custom_status(name, category, description)
    except InvalidCustomStatus as error:
        raise InvalidConfig((str(error),)) from None
    await store_version(conn, STATUSES, (stored or 0) + 1, catalog.model_dump(mode="json"), actor=actor)
    return catalog


async def put_simple(conn: repo.Conn, kind: str, body: Mapping[str, Any], actor: str) -> tuple[int, Any]:
    """Store a new assignment policy or staleness limits; answer the version and the parsed value."""
    parsed = _parse(kind, body)
    stored = await lock_kind(conn, NAMESPACE, kind)
    version = (stored or 0) + 1
    await store_version(conn, kind, version, parsed.model_dump(mode="json"), actor=actor)
    return version, parsed
