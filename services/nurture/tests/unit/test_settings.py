"""Nurture refuses at start an unsubscribe link that could not go out verbatim in List-Unsubscribe."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadflow_nurture.settings import NurtureSettings

DSN = "postgresql://nurture:secret@localhost:5432/leadflow"


@pytest.mark.parametrize(
    "url",
    [
        "https://pastelaria-açúcar.example/unsubscribe?lead=$lead_id",
        "https://orbital-bakery.example/unsubscribe?lead=$lead_id&note=see you",
        "https://orbital-bakery.example/unsubscribe?lead=$lead_id\r\nBcc: everyone@example.com",
        "https://orbital-bakery.example/" + "u" * 400,
    ],
    ids=["non-ascii", "space", "newline", "too-long"],
)
def test_an_unsubscribe_link_that_cannot_go_out_on_one_plain_line_stops_the_service(url: str) -> None:
    with pytest.raises(ValidationError, match="printable ASCII without spaces"):
        NurtureSettings(database_url=DSN, unsubscribe_url=url)


def test_a_plain_https_link_and_mailto_are_accepted() -> None:
    settings = NurtureSettings(
        database_url=DSN,
        unsubscribe_url="https://orbital-bakery.example/unsubscribe?lead=$lead_id",
        unsubscribe_mailto="unsubscribe@orbital-bakery.example",
    )

    assert settings.unsubscribe_mailto == "unsubscribe@orbital-bakery.example"
