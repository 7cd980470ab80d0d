"""Versioned configuration rows: opportunity criteria, stages and lost reasons."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import asyncpg

from leadflow_opportunity.domain.criteria import DEFAULT_OPPORTUNITY_CRITERIA, OpportunityCriteria
from leadflow_opportunity.domain.stages import DEFAULT_LOST_REASONS, DEFAULT_STAGES, LostReasons, StageSet


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


async def current(conn: asyncpg.Connection) -> Configuration:
    """The latest version of each kind, or the built-in default (version 1) where none was stored."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (kind) kind, body FROM config_versions ORDER BY kind, version DESC"
    )
    bodies = {row["kind"]: row["body"] for row in rows}
    config = Configuration()
    if ConfigKind.CRITERIA in bodies:
        config = Configuration(
            OpportunityCriteria.model_validate(bodies[ConfigKind.CRITERIA]),
            config.stages,
            config.lost_reasons,
        )
    if ConfigKind.STAGES in bodies:
        config = Configuration(
            config.criteria, StageSet.model_validate(bodies[ConfigKind.STAGES]), config.lost_reasons
        )
    if ConfigKind.LOST_REASONS in bodies:
        config = Configuration(
            config.criteria, config.stages, LostReasons.model_validate(bodies[ConfigKind.LOST_REASONS])
        )
    return config


async def next_version(conn: asyncpg.Connection, kind: ConfigKind) -> int:
    """Lock the kind for this transaction and return the version a new row gets (defaults are 1)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('config:' || $1))", kind.value)
    latest = await conn.fetchval("SELECT max(version) FROM config_versions WHERE kind = $1", kind.value)
    return int(latest or 1) + 1


async def store(conn: asyncpg.Connection, kind: ConfigKind, version: int, body: dict[str, Any]) -> None:
    """Keep one new version."""
    await conn.execute(
        "INSERT INTO config_versions (kind, version, body) VALUES ($1, $2, $3)", kind.value, version, body
    )
