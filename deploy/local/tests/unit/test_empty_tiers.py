"""`make test` names every tier; a tier that collects no test fails the run."""

from __future__ import annotations

from pathlib import Path

from leadflow_devstack.pytest_plugin import empty_tiers


def test_a_tier_without_a_collected_test_is_reported_and_one_with_a_test_is_not(tmp_path: Path) -> None:
    faults, e2e = tmp_path / "tests" / "faults", tmp_path / "tests" / "e2e"
    collected = [e2e / "test_full_pipeline.py"]
    assert empty_tiers([faults, e2e], collected) == [faults]


def test_a_test_in_a_sibling_folder_with_a_longer_name_does_not_count_for_the_tier(tmp_path: Path) -> None:
    tier = tmp_path / "tests" / "e2e"
    assert empty_tiers([tier], [tmp_path / "tests" / "e2e_old" / "test_x.py"]) == [tier]
