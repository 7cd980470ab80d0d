"""The source registry: what each source module declares is what settings, webhooks and fetching use."""

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest

from leadflow_intake.domain.sources import SOURCES, source_settings
from leadflow_intake.domain.sources.spec import Authenticity, Delivery, hex_hmac_header
from leadflow_intake.settings import CHOSEN_SECRETS, IntakeSettings

BASE: dict[str, Any] = {"database_url": "postgresql://intake:pw@127.0.0.1:5432/leadflow"}


def delivery(body: bytes, headers: dict[str, str]) -> Delivery:
    return Delivery("POST", "https://intake.example/v1/webhooks/x", headers, {}, body, datetime.now(UTC))


def test_every_setting_a_source_declares_is_read_from_its_intake_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for setting in source_settings():
        monkeypatch.setenv(f"INTAKE_{setting.name.upper()}", f"{setting.name}-from-the-environment")
    settings = IntakeSettings(**BASE)
    for setting in source_settings():
        assert getattr(settings, setting.name) == f"{setting.name}-from-the-environment"


def test_a_source_setting_left_unset_takes_the_default_its_module_declares(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("INTAKE_META_GRAPH_URL", raising=False)
    monkeypatch.delenv("INTAKE_ZOOM_SECRET_TOKEN", raising=False)
    settings = IntakeSettings(**BASE)
    assert dict(settings)["meta_graph_url"] == "https://graph.facebook.com/v21.0"
    assert dict(settings)["zoom_secret_token"] == ""


def test_the_secrets_we_choose_ourselves_are_the_ones_the_sources_mark_as_chosen():
    assert set(CHOSEN_SECRETS) == {
        "google_ads_key",
        "meta_verify_token",
        "mailchimp_secret",
        "activecampaign_secret",
        "salesforce_web_to_lead_secret",
    }


def test_every_handshake_answers_with_a_setting_its_source_declares():
    for spec in SOURCES.values():
        declared = {spec.secret.name, *(s.name for s in spec.settings)}
        if spec.handshake is not None and spec.handshake.secret is not None:
            assert spec.handshake.secret in declared, spec.name


def test_every_fetching_source_fills_its_url_and_headers_from_settings_intake_has():
    values = vars(IntakeSettings(**BASE))
    fetching = {name: spec.fetching for name, spec in SOURCES.items() if spec.fetching is not None}
    assert set(fetching) == {"meta", "linkedin", "hubspot"}
    for spec in fetching.values():
        assert spec.api_url.format_map(values).startswith("https://")
        for template in spec.headers.values():
            template.format_map(values)


@pytest.mark.parametrize(
    "checks",
    [{}, {"signed": lambda delivery, secret: True, "vouched": lambda payload, secret: True}],
    ids=["neither", "both"],
)
def test_a_source_must_check_either_the_raw_request_or_the_parsed_body(checks: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="either the raw request or the parsed body"):
        Authenticity("never open", **checks)


def test_a_hex_hmac_header_accepts_the_genuine_signature_in_either_case_and_nothing_else():
    body = b'{"form": "spring-webinar", "email": "grace.hopper@navy.example"}'
    auth = hex_hmac_header("X-Acme-Signature", "sha256=")
    assert auth.signed is not None
    good = "sha256=" + hmac.new(b"acme-secret", body, hashlib.sha256).hexdigest()
    assert auth.signed(delivery(body, {"X-Acme-Signature": good}), "acme-secret")
    shouted = "sha256=" + good.removeprefix("sha256=").upper()
    assert auth.signed(delivery(body, {"x-acme-signature": shouted}), "acme-secret")
    assert not auth.signed(delivery(body, {"X-Acme-Signature": good.removeprefix("sha256=")}), "acme-secret")
    assert not auth.signed(delivery(body + b" ", {"X-Acme-Signature": good}), "acme-secret")
    assert not auth.signed(delivery(body, {"X-Acme-Signature": good}), "another-secret")
    assert not auth.signed(delivery(body, {}), "acme-secret")
    assert auth.refusal == "X-Acme-Signature is missing or does not match the body"
