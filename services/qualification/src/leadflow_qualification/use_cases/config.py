"""The organisation's versioned configuration: criteria, statuses, assignment rules, staleness limits."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from leadflow_qualification.adapters import repository as repo
from leadflow_qualification.domain.assignment import AssignmentPolicy
from leadflow_qualification.domain.criteria import DEFAULT_CRITERIA, Criteria, InvalidCriteria, parse_criteria
from leadflow_qualification.domain.staleness import DEFAULT_STALENESS_LIMITS, StalenessLimits
from leadflow_qualification.domain.statuses import DEFAULT_CATALOG, InvalidCustomStatus, StatusCatalog

CRITERIA, STATUSES, ASSIGNMENT, STALENESS = "criteria", "statuses", "assignment", "staleness"

# Other processes of the service see a new version within this many seconds.
CACHE_TTL_S = 1.0


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


DEFAULT_CONFIG = Config(DEFAULT_CRITERIA, DEFAULT_CATALOG, 0, None, 0, DEFAULT_STALENESS_LIMITS, 0)

_cache: tuple[float, Config] | None = None
# Each kind's newest stored version as last read, and its parsed value: a version read again is the same
# object, so what is worked out from it once (such as the criteria's rulebook) stays valid.
_parsed: dict[str, tuple[int, Any, Any]] = {}


def forget() -> None:
    """Drop the cached configuration (after a change, or in tests)."""
    global _cache
    _cache = None
    _parsed.clear()


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


def _parse_stored(kind: str, version: int, body: Mapping[str, Any]) -> Any:
    """A stored version, parsed once for as long as it stays the newest of its kind."""
    kept = _parsed.get(kind)
    if kept is not None and kept[0] == version and kept[1] == body:
        return kept[2]
    parsed = _parse(kind, body)
    _parsed[kind] = (version, body, parsed)
    return parsed


async def load(conn: repo.Conn, *, fresh: bool = False) -> Config:
    """The configuration in force (cached for CACHE_TTL_S unless fresh)."""
    global _cache
    if not fresh and _cache is not None and time.monotonic() - _cache[0] < CACHE_TTL_S:
        return _cache[1]
    found = {r["kind"]: (r["version"], r["body"]) for r in await repo.latest_configs(conn)}
    config = DEFAULT_CONFIG
    if CRITERIA in found:
        config = _replace(config, criteria=_parse_stored(CRITERIA, *found[CRITERIA]))
    if STATUSES in found:
        version, body = found[STATUSES]
        config = _replace(config, catalog=_parse_stored(STATUSES, version, body), catalog_version=version)
    if ASSIGNMENT in found:
        version, body = found[ASSIGNMENT]
        config = _replace(
            config, assignment=_parse_stored(ASSIGNMENT, version, body), assignment_version=version
        )
    if STALENESS in found:
        version, body = found[STALENESS]
        config = _replace(
            config, staleness=_parse_stored(STALENESS, version, body), staleness_version=version
        )
    _cache = (time.monotonic(), config)
    return config


def _replace(config: Config, **changes: Any) -> Config:
    return Config(**{**config.__dict__, **changes})


async def put_criteria(conn: repo.Conn, body: Mapping[str, Any], actor: str) -> Criteria:
    """Store the next criteria version (the body's own version is ignored)."""
    stored = await repo.lock_config(conn, CRITERIA)
    version = (stored or DEFAULT_CRITERIA.version) + 1
    criteria: Criteria = _parse(CRITERIA, {**body, "version": version})
    await repo.store_config(conn, CRITERIA, version, criteria.model_dump(mode="json"), actor)
    forget()
    return criteria


def proposed_criteria(body: Mapping[str, Any], current: Criteria) -> Criteria:
    """Criteria to try out, numbered as the next version."""
    parsed: Criteria = _parse(CRITERIA, {**body, "version": current.version + 1})
    return parsed


async def add_status(
    conn: repo.Conn, name: str, category: str, description: str, actor: str
) -> StatusCatalog:
    """Store a catalog with one more custom status."""
    stored = await repo.lock_config(conn, STATUSES)
    current = (await load(conn, fresh=True)).catalog
    try:
        catalog = current.with_custom_status(name, category, description)
    except InvalidCustomStatus as error:
        raise InvalidConfig((str(error),)) from None
    await repo.store_config(conn, STATUSES, (stored or 0) + 1, catalog.model_dump(mode="json"), actor)
    forget()
    return catalog


async def put_simple(conn: repo.Conn, kind: str, body: Mapping[str, Any], actor: str) -> tuple[int, Any]:
    """Store a new assignment policy or staleness limits; answer the version and the parsed value."""
    parsed = _parse(kind, body)
    stored = await repo.lock_config(conn, kind)
    version = (stored or 0) + 1
    await repo.store_config(conn, kind, version, parsed.model_dump(mode="json"), actor)
    forget()
    return version, parsed
