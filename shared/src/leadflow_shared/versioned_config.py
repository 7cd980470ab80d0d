"""Versioned configuration: the newest version of each kind in force, each set of versions parsed once.

A service stores each change of its configuration as a new version and never changes a stored one. A
`VersionedConfig` is owned by the service definition (one per process, no module-level cache) and handed
to what loads configuration: consumers once per batch, each request, each sweep. A load reads only the
newest version numbers, so a version stored by any replica is in force at the next load; only a set of
versions not seen before has its bodies read and parsed. The value a load answers is immutable and is
passed explicitly to the use cases.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import asyncpg

C = TypeVar("C")
# The newest version of each kind, in the order the service names its kinds (0: none stored).
Versions = tuple[int, ...]
# Configurations a store keeps: the one in force and a few before it.
VERSIONS_KEPT = 4


class VersionedConfig(ABC, Generic[C]):
    """Loads the configuration in force; each set of stored versions is read and parsed once."""

    def __init__(self) -> None:
        self._configs: dict[Versions, C] = {}

    async def load(self, conn: asyncpg.Connection) -> C:
        """The configuration in force now."""
        known = self._configs.get(await self.newest(conn))
        if known is not None:
            return known
        versions, config = await self.read(conn)
        if len(self._configs) >= VERSIONS_KEPT:
            del self._configs[next(iter(self._configs))]
        # Keyed by what was read with the bodies, in case a version was stored in between.
        self._configs[versions] = config
        return config

    @abstractmethod
    async def newest(self, conn: asyncpg.Connection) -> Versions:
        """The newest version of each kind, in one cheap query."""

    @abstractmethod
    async def read(self, conn: asyncpg.Connection) -> tuple[Versions, C]:
        """The configuration made of the newest stored versions, with the versions it was made of."""


Found = Mapping[str, tuple[int, Any]]


class KindsTable(VersionedConfig[C]):
    """Configuration kept as rows of the service's `config_versions (kind, version, body)` table."""

    def __init__(self, kinds: Sequence[str], build: Callable[[Found], C]) -> None:
        super().__init__()
        self.kinds = tuple(kinds)
        self._build = build

    async def newest(self, conn: asyncpg.Connection) -> Versions:
        """The newest version of each kind, in one cheap query."""
        rows = await conn.fetch("SELECT kind, max(version) AS version FROM config_versions GROUP BY kind")
        newest = {row["kind"]: row["version"] for row in rows}
        return tuple(newest.get(kind, 0) for kind in self.kinds)

    async def read(self, conn: asyncpg.Connection) -> tuple[Versions, C]:
        """The configuration built from the newest body of each kind stored."""
        rows = await conn.fetch(
            "SELECT DISTINCT ON (kind) kind, version, body FROM config_versions ORDER BY kind, version DESC"
        )
        found = {row["kind"]: (row["version"], row["body"]) for row in rows if row["kind"] in self.kinds}
        return tuple(found[kind][0] if kind in found else 0 for kind in self.kinds), self._build(found)


async def lock_kind(conn: asyncpg.Connection, namespace: str, kind: str) -> int | None:
    """Serialise the writers of one kind till the transaction ends; answer its newest stored version."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1 || ':' || $2))", namespace, kind)
    version: int | None = await conn.fetchval(
        "SELECT max(version) FROM config_versions WHERE kind = $1", kind
    )
    return version


async def store_version(
    conn: asyncpg.Connection, kind: str, version: int, body: dict[str, Any], **columns: Any
) -> None:
    """Store one new version of a kind, with the service's own further columns (such as its actor)."""
    names = ", ".join(["kind", "version", "body", *columns])
    places = ", ".join(f"${i}" for i in range(1, len(columns) + 4))
    await conn.execute(
        f"INSERT INTO config_versions ({names}) VALUES ({places})", kind, version, body, *columns.values()
    )
