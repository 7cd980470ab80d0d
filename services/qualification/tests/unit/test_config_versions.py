"""A store parses each stored configuration version once and answers the newest versions on every load."""

from typing import Any

from leadflow_qualification.domain.criteria import DEFAULT_CRITERIA, Criteria
from leadflow_qualification.domain.statuses import DEFAULT_CATALOG
from leadflow_qualification.use_cases import config as cfg


class StoredVersions:
    """A connection that answers the newest configuration versions as stored rows, counting body reads."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.body_reads = 0

    def store(self, kind: str, version: int, body: dict[str, Any]) -> None:
        self.rows[kind] = {"kind": kind, "version": version, "body": body}

    async def fetch(self, query: str, *args: Any) -> list[dict[str, Any]]:
        if "body" in query:
            self.body_reads += 1
            return list(self.rows.values())
        return [{"kind": row["kind"], "version": row["version"]} for row in self.rows.values()]

    def criteria(self, version: int, min_amount: str) -> None:
        """Store a criteria version with this minimum budget."""
        body: dict[str, Any] = DEFAULT_CRITERIA.model_dump(mode="json")
        body["version"] = version
        body["qualifying"]["budget"]["min_amount"] = min_amount
        self.store(cfg.CRITERIA, version, body)


async def loaded_criteria(store: cfg.ConfigStore, stored: StoredVersions) -> Criteria:
    return (await store.load(stored)).criteria


async def test_nothing_stored_is_the_shipped_default_with_its_rulebook():
    config = await cfg.ConfigStore().load(StoredVersions())
    assert config == cfg.DEFAULT_CONFIG
    assert config.rulebook.criteria is DEFAULT_CRITERIA


async def test_the_same_stored_version_loads_as_the_same_config_without_reading_its_body_again():
    stored, store = StoredVersions(), cfg.ConfigStore()
    stored.criteria(2, "20000")
    first = await store.load(stored)
    again = await store.load(stored)
    assert again is first
    assert again.rulebook is first.rulebook
    assert stored.body_reads == 1


async def test_a_version_stored_by_another_process_is_in_force_at_the_next_load():
    stored, store = StoredVersions(), cfg.ConfigStore()
    stored.criteria(2, "20000")
    first = await loaded_criteria(store, stored)
    stored.criteria(3, "30000")
    newer = await loaded_criteria(store, stored)
    assert (first.version, newer.version) == (2, 3)
    assert str(newer.qualifying.budget.min_amount) == "30000"
    assert (await store.load(stored)).rulebook.minimum_budget == "30000 EUR"


async def test_two_stores_parse_the_same_version_each_for_itself():
    stored = StoredVersions()
    stored.criteria(2, "20000")
    stored.store(cfg.STATUSES, 1, {"statuses": [{"name": c, "category": c} for c in DEFAULT_CATALOG.names]})
    first = await cfg.ConfigStore().load(stored)
    again = await cfg.ConfigStore().load(stored)
    assert again == first
    assert again.criteria is not first.criteria
    assert again.catalog_version == 1
