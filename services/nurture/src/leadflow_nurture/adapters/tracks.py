"""Tracks as versioned rows: each name keeps every version; the current set is the latest track_sets row."""

from __future__ import annotations

from typing import Any

import asyncpg

from leadflow_nurture.domain.tracks import Track, TrackSet
from leadflow_shared.versioned_config import VersionedConfig, Versions


class TrackStore(VersionedConfig[TrackSet]):
    """The tracks in force, loaded like any versioned configuration, and every version of each track.

    Track versions never change, so each is parsed once, whether it is in force or an enrollment's own.
    """

    def __init__(self) -> None:
        super().__init__()
        self._versions: dict[tuple[str, int], Track] = {}

    async def newest(self, conn: asyncpg.Connection) -> Versions:
        """The newest track set's version."""
        return (await conn.fetchval("SELECT max(version) FROM track_sets") or 0,)

    async def read(self, conn: asyncpg.Connection) -> tuple[Versions, TrackSet]:
        """The newest track set, with its version."""
        row = await conn.fetchrow("SELECT version, tracks FROM track_sets ORDER BY version DESC LIMIT 1")
        if row is None:
            raise LookupError("no nurture tracks configured")
        refs: list[list[Any]] = row["tracks"]
        tracks = [await self.version(conn, str(name), int(version)) for name, version in refs]
        return (row["version"],), TrackSet(tracks=tuple(tracks))

    async def version(self, conn: asyncpg.Connection, name: str, version: int) -> Track:
        """One version of one track (the one an enrollment started on)."""
        key = (name, version)
        track = self._versions.get(key)
        if track is None:
            definition = await conn.fetchval(
                "SELECT definition FROM tracks WHERE name = $1 AND version = $2", name, version
            )
            if definition is None:
                raise LookupError(f"no track {name!r} version {version}")
            track = Track.model_validate({**definition, "version": version})
            self._versions[key] = track
        return track

    async def replace(self, conn: asyncpg.Connection, tracks: TrackSet) -> TrackSet:
        """Store a new track set: a track whose definition changed gets the next version of its name."""
        await conn.execute("LOCK TABLE track_sets IN EXCLUSIVE MODE")
        latest = {
            row["name"]: (row["version"], row["definition"])
            for row in await conn.fetch(
                "SELECT DISTINCT ON (name) name, version, definition FROM tracks"
                " WHERE name = ANY($1::text[]) ORDER BY name, version DESC",
                [t.name for t in tracks.tracks],
            )
        }
        stored: list[Track] = []
        for track in tracks.tracks:
            definition = track.model_dump(mode="json", exclude={"version"})
            known = latest.get(track.name)
            if known is not None and _same(known[1], definition):
                version = known[0]
            else:
                version = known[0] + 1 if known else 1
                await conn.execute(
                    "INSERT INTO tracks (name, version, definition) VALUES ($1, $2, $3)",
                    track.name,
                    version,
                    definition,
                )
            stored.append(track.model_copy(update={"version": version}))
        await conn.execute(
            "INSERT INTO track_sets (tracks) VALUES ($1)", [[t.name, t.version] for t in stored]
        )
        return TrackSet(tracks=tuple(stored))


def _same(stored: dict[str, Any], definition: dict[str, Any]) -> bool:
    comparable = {k: v for k, v in stored.items() if k != "version"}
    return Track.model_validate(comparable) == Track.model_validate(definition)
