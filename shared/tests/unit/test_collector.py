"""The garbage collector of a service: start-up objects frozen out of it, and the thresholds set."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from leadflow_shared.runtime import tune_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_collector")
def test_tuning_freezes_what_is_loaded_and_sets_the_thresholds() -> None:
    gc.unfreeze()
    tune_collector((50_000, 20, 20))
    assert gc.get_threshold() == (50_000, 20, 20)
    assert gc.get_freeze_count() > 0
