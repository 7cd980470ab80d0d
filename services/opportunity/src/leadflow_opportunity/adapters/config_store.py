"""Versioned configuration rows: opportunity criteria, stages and lost reasons."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel

from leadflow_opportunity.domain.criteria import DEFAULT_OPPORTUNITY_CRITERIA, OpportunityCriteria
from leadflow_opportunity.domain.stages import DEFAULT_LOST_REASONS, DEFAULT_STAGES, LostReasons, StageSet
from leadflow_shared.versioned_config import Found, KindsTable, lock_kind, store_version

# What serialises the writers of one kind (the advisory lock's key is "<namespace>:<kind>").
NAMESPACE = "config"
M = TypeVar("M", bound=BaseModel)


class ConfigKind(StrEnum):
    """The kinds of versioned configuration opportunity keeps."""

    CRITERIA = "opportunity_criteria"
    STAGES = "stages"
    LOST_REASONS = "lost_reasons"


@dataclass(frozen=True)
class Configuration:
    """The current version of every kind of configuration."""

    criteria: OpportunityCriteria = DEFAULT_OPPORTUNITY_CRITERIA
    stages: StageSet = DEFAULT_STAGES
    lost_reasons: LostReasons = DEFAULT_LOST_REASONS


class ConfigStore(KindsTable[Configuration]):
    """The latest version of each kind, or the built-in default (version 1) where none was stored."""

    def __init__(self) -> None:
        super().__init__(tuple(ConfigKind), _build)


def _build(found: Found) -> Configuration:
    default = Configuration()
    return Configuration(
        _parsed(found, ConfigKind.CRITERIA, default.criteria),
        _parsed(found, ConfigKind.STAGES, default.stages),
        _parsed(found, ConfigKind.LOST_REASONS, default.lost_reasons),
    )


def _parsed(found: Found, kind: ConfigKind, default: M) -> M:
    return type(default).model_validate(found[kind][1]) if kind in found else default


async def next_version(conn: asyncpg.Connection, kind: ConfigKind) -> int:
    """Lock the kind for this transaction and return the version a new row gets (defaults are 1)."""
    return (await lock_kind(conn, NAMESPACE, kind.value) or 1) + 1


async def store(conn: asyncpg.Connection, kind: ConfigKind, version: int, body: dict[str, Any]) -> None:
    """Keep one new version."""
    await store_version(conn, kind.value, version, body)
