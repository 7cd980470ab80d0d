"""Tracks as versioned rows: each name keeps every version; the current set is the latest track_sets row."""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from leadflow_nurture.domain.tracks import Track, TrackSet


class TrackStore:
    """Reads and writes track versions; versions never change, so they are cached for good."""

    def __init__(self, refresh_s: float = 1.0) -> None:
        self.refresh_s = refresh_s
        self._versions: dict[tuple[str, int], Track] = {}
        self._current: tuple[int, TrackSet] | None = None
        self._checked_at = 0.0

    async def current(self, conn: asyncpg.Connection) -> TrackSet:
        """The tracks in force, re-read at most once per refresh interval."""
        if self._current is not None and time.monotonic() - self._checked_at < self.refresh_s:
            return self._current[1]
        row = await conn.fetchrow("SELECT version, tracks FROM track_sets ORDER BY version DESC LIMIT 1")
        if row is None:
            raise LookupError("no nurture tracks configured")
        if self._current is None or self._current[0] != row["version"]:
            refs: list[list[Any]] = row["tracks"]
            tracks = [await self.version(conn, str(name), int(version)) for name, version in refs]
            self._current = (row["version"], TrackSet(tracks=tuple(tracks)))
        self._checked_at = time.monotonic()
        return self._current[1]

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
        self._current = None
        return TrackSet(tracks=tuple(stored))


def _same(stored: dict[str, Any], definition: dict[str, Any]) -> bool:
    comparable = {k: v for k, v in stored.items() if k != "version"}
    return Track.model_validate(comparable) == Track.model_validate(definition)
