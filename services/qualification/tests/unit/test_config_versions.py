"""A stored configuration version is parsed once for as long as it stays the newest of its kind."""

from collections.abc import Iterator
from typing import Any

import pytest

from leadflow_qualification.domain.criteria import DEFAULT_CRITERIA, Criteria
from leadflow_qualification.domain.decision import rulebook
from leadflow_qualification.domain.statuses import DEFAULT_CATALOG
from leadflow_qualification.use_cases import config as cfg


class StoredVersions:
    """A connection that answers the newest configuration versions as stored rows."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def store(self, kind: str, version: int, body: dict[str, Any]) -> None:
        self.rows[kind] = {"kind": kind, "version": version, "body": body}

    async def fetch(self, query: str, *args: Any) -> list[dict[str, Any]]:
        return list(self.rows.values())

    async def criteria(self, version: int, min_amount: str) -> Criteria:
        """Store a criteria version with this minimum budget, and load the configuration afresh."""
        body: dict[str, Any] = DEFAULT_CRITERIA.model_dump(mode="json")
        body["version"] = version
        body["qualifying"]["budget"]["min_amount"] = min_amount
        self.store(cfg.CRITERIA, version, body)
        return (await cfg.load(self, fresh=True)).criteria


@pytest.fixture(autouse=True)
def nothing_cached() -> Iterator[None]:
    cfg.forget()
    yield
    cfg.forget()


async def test_the_same_stored_criteria_version_loads_as_the_same_object_with_the_same_rulebook():
    stored = StoredVersions()
    first = await stored.criteria(2, "20000")
    again = await stored.criteria(2, "20000")
    assert again is first
    assert rulebook(again) is rulebook(first)


async def test_a_new_criteria_version_is_parsed_anew():
    stored = StoredVersions()
    first = await stored.criteria(2, "20000")
    newer = await stored.criteria(3, "30000")
    assert (first.version, newer.version) == (2, 3)
    assert str(newer.qualifying.budget.min_amount) == "30000"


async def test_a_version_stored_again_with_another_body_is_parsed_anew():
    stored = StoredVersions()
    first = await stored.criteria(2, "20000")
    other = await stored.criteria(2, "25000")
    assert other is not first
    assert str(other.qualifying.budget.min_amount) == "25000"


async def test_forgetting_the_configuration_parses_every_version_again():
    stored = StoredVersions()
    criteria = await stored.criteria(2, "20000")
    stored.store(cfg.STATUSES, 1, {"statuses": [{"name": c, "category": c} for c in DEFAULT_CATALOG.names]})
    first = await cfg.load(stored, fresh=True)
    assert first.criteria is criteria
    cfg.forget()
    again = await cfg.load(stored)
    assert again.criteria == first.criteria
    assert again.criteria is not first.criteria
    assert again.catalog is not first.catalog
    assert again.catalog_version == 1
