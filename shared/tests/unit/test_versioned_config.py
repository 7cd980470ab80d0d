"""A versioned configuration reads the newest version numbers per load and parses each set once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from leadflow_shared.versioned_config import Found, KindsTable


@dataclass(frozen=True)
class Bakery:
    """A bakery's configuration: the loaves it bakes and its opening hour, each with its version."""

    loaves: tuple[str, ...] = ("sourdough",)
    loaves_version: int = 0
    opens_at: int = 7


class ConfigVersions:
    """A connection holding rows of `config_versions`, counting the reads of bodies and the bakeries built."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.body_reads = 0
        # A version another replica stores between this one's two reads of a load.
        self.stored_between: dict[str, Any] | None = None

    def store(self, kind: str, version: int, body: Mapping[str, Any]) -> None:
        self.rows.append({"kind": kind, "version": version, "body": dict(body)})

    async def fetch(self, query: str, *args: Any) -> list[dict[str, Any]]:
        if "body" not in query:
            newest: dict[str, int] = {}
            for row in self.rows:
                newest[row["kind"]] = max(newest.get(row["kind"], 0), row["version"])
            return [{"kind": kind, "version": version} for kind, version in newest.items()]
        self.body_reads += 1
        if self.stored_between is not None:
            self.store(**self.stored_between)
            self.stored_between = None
        latest: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            if row["version"] > latest.get(row["kind"], {"version": 0})["version"]:
                latest[row["kind"]] = row
        return list(latest.values())


class Bakeries(KindsTable[Bakery]):
    """The bakery's kinds: loaves and hours."""

    def __init__(self) -> None:
        super().__init__(("loaves", "hours"), self.build)
        self.built = 0

    def build(self, found: Found) -> Bakery:
        self.built += 1
        bakery = Bakery()
        if "loaves" in found:
            version, body = found["loaves"]
            bakery = Bakery(tuple(body["loaves"]), version, bakery.opens_at)
        if "hours" in found:
            bakery = Bakery(bakery.loaves, bakery.loaves_version, found["hours"][1]["opens_at"])
        return bakery


@pytest.fixture
def stored() -> ConfigVersions:
    return ConfigVersions()


async def test_nothing_stored_loads_the_defaults(stored: ConfigVersions) -> None:
    assert await Bakeries().load(stored) == Bakery()


async def test_the_same_versions_load_as_the_same_value_without_reading_bodies_again(
    stored: ConfigVersions,
) -> None:
    store = Bakeries()
    stored.store("loaves", 2, {"loaves": ["rye", "spelt"]})
    first = await store.load(stored)
    again = await store.load(stored)
    assert again is first
    assert (stored.body_reads, store.built) == (1, 1)


async def test_a_version_stored_by_another_replica_is_in_force_at_the_next_load(
    stored: ConfigVersions,
) -> None:
    store = Bakeries()
    stored.store("loaves", 2, {"loaves": ["rye"]})
    await store.load(stored)
    stored.store("hours", 1, {"opens_at": 6})
    newer = await store.load(stored)
    assert newer == Bakery(("rye",), 2, 6)


async def test_a_load_is_remembered_by_the_versions_its_bodies_had(stored: ConfigVersions) -> None:
    store = Bakeries()
    stored.stored_between = {"kind": "loaves", "version": 3, "body": {"loaves": ["brioche"]}}
    first = await store.load(stored)
    assert first.loaves == ("brioche",)
    assert await store.load(stored) is first
    assert stored.body_reads == 1
