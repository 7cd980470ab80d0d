"""Intake's own settings: the default phone region fails fast when no phone numbers are known for it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadflow_intake.settings import IntakeSettings

DSN = "postgresql://intake:pw@127.0.0.1/leadflow"


def test_the_default_region_is_read_upper_cased() -> None:
    assert IntakeSettings(database_url=DSN, default_region=" gb ").default_region == "GB"


def test_an_empty_default_region_means_none() -> None:
    assert IntakeSettings(database_url=DSN, default_region="").default_region == ""


def test_an_unknown_default_region_stops_the_service_naming_it() -> None:
    with pytest.raises(ValidationError, match="'Atlantis' is not a region"):
        IntakeSettings(database_url=DSN, default_region="Atlantis")
