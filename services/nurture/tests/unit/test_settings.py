"""Nurture refuses at start a public URL that could not go out verbatim in List-Unsubscribe, or no secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadflow_nurture.bootstrap import definition
from leadflow_nurture.settings import NurtureSettings

DSN = "postgresql://nurture:secret@localhost:5432/leadflow"
SECRET = "orbital-bakery-signing-secret-of-42-chars!"


@pytest.mark.parametrize(
    "url",
    [
        "https://pastelaria-açúcar.example",
        "https://orbital-bakery.example/see you",
        "https://orbital-bakery.example\r\nBcc: everyone@example.com",
        "https://orbital-bakery.example/" + "u" * 300,
    ],
    ids=["non-ascii", "space", "newline", "too-long"],
)
def test_a_public_url_that_cannot_go_out_on_one_plain_line_stops_the_service(url: str) -> None:
    with pytest.raises(ValidationError, match="printable ASCII without spaces"):
        NurtureSettings(database_url=DSN, public_url=url)


def test_a_public_url_that_is_no_web_address_stops_the_service() -> None:
    with pytest.raises(ValidationError, match="https://"):
        NurtureSettings(database_url=DSN, public_url="ftp://orbital-bakery.example")


def test_a_plain_https_url_and_mailto_are_accepted_and_links_start_with_the_url() -> None:
    settings = NurtureSettings(
        database_url=DSN,
        public_url="https://nurture.orbital-bakery.example/",
        unsubscribe_mailto="unsubscribe@orbital-bakery.example",
        unsubscribe_secret=SECRET,
    )

    assert settings.unsubscribe_mailto == "unsubscribe@orbital-bakery.example"
    assert settings.unsubscribe_links().public_url == "https://nurture.orbital-bakery.example"
    assert SECRET not in repr(settings)


def test_a_short_unsubscribe_secret_stops_the_service() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        NurtureSettings(database_url=DSN, unsubscribe_secret="letmein")


def test_serving_without_an_unsubscribe_secret_stops_with_a_message_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NURTURE_UNSUBSCRIBE_SECRET", raising=False)
    with pytest.raises(SystemExit, match="NURTURE_UNSUBSCRIBE_SECRET"):
        definition(NurtureSettings(database_url=DSN))


def test_serving_with_a_secret_wires_the_unsubscribe_routes() -> None:
    served = definition(NurtureSettings(database_url=DSN, unsubscribe_secret=SECRET))

    paths = {route.path for router in served.routers for route in router.routes}  # type: ignore[attr-defined]
    assert "/v1/unsubscribe/{token}" in paths
    assert served.state["unsubscribe_links"].secret == SECRET.encode()


def test_a_lease_shorter_than_one_email_can_take_stops_the_service() -> None:
    with pytest.raises(ValidationError, match="scheduler_lease_s must exceed 5 x smtp_timeout_s"):
        NurtureSettings(database_url=DSN, smtp_timeout_s=10, scheduler_lease_s=50)
    assert (
        NurtureSettings(database_url=DSN, smtp_timeout_s=1, scheduler_lease_s=6).send_margin.total_seconds()
        == 5
    )
