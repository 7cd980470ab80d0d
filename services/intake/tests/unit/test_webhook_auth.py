"""Each source's verifier: genuine, wrong, missing and malformed credentials, stale or future timestamps."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from leadflow_devstack.env import INTAKE_WEBHOOK_SECRETS
from leadflow_intake.domain.sources import SOURCES, PayloadError, google_ads, hubspot, linkedin, meta, zoom
from leadflow_intake.domain.sources.common import is_fresh, parse_form_body, signed_at, verify_url_secret
from leadflow_intake.settings import WEBHOOK_SECRETS, IntakeSettings

NOW = datetime(2026, 12, 6, 13, 30, tzinfo=UTC)
NOW_S = str(int(NOW.timestamp()))
NOW_MS = str(int(NOW.timestamp() * 1000))
MALFORMED_TIMESTAMPS = [
    "abc",
    "²",
    "\uff11\uff17\uff16\uff15",
    "9" * 30,
    "",
    " " + NOW_S,
    NOW_S + "\n",
    "-1",
    "1.5e9",
    "0x10",
]
BODY = json.dumps(
    {
        "type": "LEAD_ACTION",
        "leadGenFormResponse": "urn:li:leadGenFormResponse:a9a29e52-c0a3-42e3-8af1-2fc83b697003-4",
        "leadAction": "CREATED",
    }
).encode()


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# Which secret each source needs


def test_every_source_names_a_secret_setting_and_the_local_stack_sets_each_one():
    assert set(WEBHOOK_SECRETS) == set(SOURCES)
    needed = {*WEBHOOK_SECRETS.values(), "meta_verify_token"}
    assert needed <= set(IntakeSettings.model_fields)
    assert {f"INTAKE_{name.upper()}" for name in needed} == set(INTAKE_WEBHOOK_SECRETS)


@pytest.mark.parametrize("name", ["google_ads_key", "meta_verify_token", "mailchimp_secret"])
def test_a_secret_we_choose_ourselves_is_refused_at_start_when_shorter_than_16_characters(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(f"INTAKE_{name.upper()}", raising=False)
    base: dict[str, Any] = {"database_url": "postgresql://intake:pw@127.0.0.1:5432/leadflow"}
    with pytest.raises(ValidationError, match="at least 16 characters"):
        IntakeSettings(**base | {name: "hunter2"})
    assert getattr(IntakeSettings(**base | {name: "x" * 16}), name) == "x" * 16
    assert getattr(IntakeSettings(**base), name) == ""


# Timestamps and form bodies, shared by every source


def test_a_signature_timestamp_is_read_from_ascii_digits_only():
    assert signed_at(NOW_S, millis=False) == NOW.timestamp()
    assert signed_at(NOW_MS, millis=True) == NOW.timestamp()
    for malformed in [*MALFORMED_TIMESTAMPS, None]:
        assert signed_at(malformed, millis=True) is None, malformed


def test_a_signed_request_is_fresh_for_five_minutes_either_side_of_now():
    at = NOW.timestamp()
    assert is_fresh(at - 299, NOW)
    assert is_fresh(at + 299, NOW)
    assert not is_fresh(at - 301, NOW)
    assert not is_fresh(at + 301, NOW)
    assert not is_fresh(None, NOW)


def test_a_form_body_that_is_not_utf8_is_a_payload_error_raw_or_percent_encoded():
    assert parse_form_body(b"data[merges][FNAME]=J%C3%BCrgen") == {"data[merges][FNAME]": "Jürgen"}
    with pytest.raises(PayloadError, match="not valid UTF-8"):
        parse_form_body(b"data[merges][FNAME]=J\xfcrgen")
    with pytest.raises(PayloadError, match="not valid UTF-8"):
        parse_form_body(b"data[merges][FNAME]=J%FCrgen")


# URL secrets (Mailchimp, ActiveCampaign, Salesforce Web-to-Lead) and Google's key in the body


def test_a_url_secret_must_equal_the_configured_one():
    assert verify_url_secret("mailchimp-url-secret-88", "mailchimp-url-secret-88")
    assert not verify_url_secret("mailchimp-url-secret-89", "mailchimp-url-secret-88")
    assert not verify_url_secret(None, "mailchimp-url-secret-88")
    assert not verify_url_secret("", "mailchimp-url-secret-88")
    assert not verify_url_secret("ünïcode", "mailchimp-url-secret-88")


def test_no_url_secret_is_accepted_when_none_is_configured():
    assert not verify_url_secret("", "")
    assert not verify_url_secret("anything", "")


def test_the_google_key_is_refused_when_wrong_missing_not_text_or_unconfigured():
    lead = {"lead_id": "TeSter-123", "google_key": "google-form-key-7d1e"}
    assert google_ads.verify_google_key(lead, "google-form-key-7d1e")
    assert not google_ads.verify_google_key(lead, "google-form-key-7d1f")
    assert not google_ads.verify_google_key({"lead_id": "TeSter-123"}, "google-form-key-7d1e")
    assert not google_ads.verify_google_key(
        {**lead, "google_key": ["google-form-key-7d1e"]}, "google-form-key-7d1e"
    )
    assert not google_ads.verify_google_key({**lead, "google_key": ""}, "")


def test_the_google_key_is_dropped_from_the_payload_that_is_stored():
    lead = {
        "lead_id": "TeSter-123",
        "google_key": "google-form-key-7d1e",
        "Google_key": "google-form-key-7d1e",
    }
    assert google_ads.without_key(lead) == {"lead_id": "TeSter-123"}


# Meta


def test_the_meta_signature_is_accepted_only_when_it_matches_the_app_secret():
    good = "sha256=" + hex_hmac("meta-app-secret-51c0", BODY)
    assert meta.verify_signature(BODY, good, "meta-app-secret-51c0")
    assert meta.verify_signature(BODY, good.upper().replace("SHA256=", "sha256="), "meta-app-secret-51c0")
    assert not meta.verify_signature(BODY, good, "meta-app-secret-51c1")
    assert not meta.verify_signature(BODY + b" ", good, "meta-app-secret-51c0")
    assert not meta.verify_signature(BODY, None, "meta-app-secret-51c0")


@pytest.mark.parametrize(
    "header", ["", "sha256=", "sha1=abc", "sha256=" + "é" * 64, "sha256=" + "0" * 10_000]
)
def test_a_malformed_meta_signature_header_is_refused(header: str) -> None:
    assert not meta.verify_signature(BODY, header, "meta-app-secret-51c0")


def test_a_meta_signature_made_with_an_empty_secret_is_refused():
    assert not meta.verify_signature(BODY, "sha256=" + hex_hmac("", BODY), "")


# LinkedIn


def test_the_linkedin_signature_is_accepted_with_or_without_its_prefix():
    good = hex_hmac("linkedin-client-secret-3f", b"hmacsha256=" + BODY)
    assert linkedin.verify_signature(BODY, good, "linkedin-client-secret-3f")
    assert linkedin.verify_signature(BODY, "hmacsha256=" + good, "linkedin-client-secret-3f")
    assert not linkedin.verify_signature(BODY, good, "linkedin-client-secret-40")


@pytest.mark.parametrize("header", [None, "", "hmacsha256=", "not-hex-at-all", "ß" * 64])
def test_an_unsigned_or_malformed_linkedin_notification_is_refused(header: str | None) -> None:
    assert not linkedin.verify_signature(BODY, header, "linkedin-client-secret-3f")


def test_a_linkedin_signature_made_with_an_empty_secret_is_refused():
    assert not linkedin.verify_signature(BODY, hex_hmac("", b"hmacsha256=" + BODY), "")


def test_a_linkedin_challenge_code_shaped_like_a_uuid_is_answered():
    code = "890e4ac4-6a0a-4a5e-9a6e-3e2c8c8e9b1f"
    assert linkedin.is_challenge_code(code)
    assert linkedin.challenge_response(code, "linkedin-client-secret-3f")["challengeCode"] == code


@pytest.mark.parametrize(
    "code",
    [
        "hmacsha256=" + BODY.decode(),
        "hmacsha256=x",
        BODY.decode(),
        '{"type":"LEAD_ACTION"}',
        "a" * 65,
        "short",
        "890e4ac4-6a0a-4a5e-9a6e-3e2c8c8e9b1f\n",
        "890e4ac4 6a0a 4a5e 9a6e 3e2c8c8e9b1f",
    ],
)
def test_a_linkedin_challenge_code_of_another_shape_is_never_signed(code: str) -> None:
    assert not linkedin.is_challenge_code(code)
    with pytest.raises(PayloadError, match="challengeCode"):
        linkedin.challenge_response(code, "linkedin-client-secret-3f")


# HubSpot


HUBSPOT_URI = "https://leads.example.com/v1/webhooks/hubspot"


def hubspot_signature(timestamp: str, secret: str = "hubspot-client-secret-e2") -> str:
    message = b"POST" + HUBSPOT_URI.encode() + BODY + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def hubspot_ok(
    timestamp: str | None, signature: str | None, secret: str = "hubspot-client-secret-e2"
) -> bool:
    return hubspot.verify_signature_v3(
        method="POST",
        uri=HUBSPOT_URI,
        raw_body=BODY,
        timestamp=timestamp,
        signature=signature,
        client_secret=secret,
        now=NOW,
    )


def test_a_hubspot_request_signed_now_with_the_client_secret_is_accepted():
    assert hubspot_ok(NOW_MS, hubspot_signature(NOW_MS))
    assert not hubspot_ok(NOW_MS, hubspot_signature(NOW_MS, "hubspot-client-secret-e3"))
    assert not hubspot_ok(NOW_MS, None)
    assert not hubspot_ok(None, hubspot_signature(NOW_MS))


@pytest.mark.parametrize("age", [timedelta(minutes=6), timedelta(minutes=-6), timedelta(days=365 * 6)])
def test_a_hubspot_request_signed_outside_five_minutes_is_refused_even_with_a_good_signature(
    age: timedelta,
) -> None:
    timestamp = str(int((NOW - age).timestamp() * 1000))
    assert not hubspot_ok(timestamp, hubspot_signature(timestamp))


@pytest.mark.parametrize("timestamp", MALFORMED_TIMESTAMPS)
def test_a_malformed_hubspot_timestamp_is_refused_without_an_error(timestamp: str) -> None:
    assert not hubspot_ok(timestamp, hubspot_signature(timestamp))


@pytest.mark.parametrize("signature", ["", "not base64!", "é" * 44, "A" * 10_000])
def test_a_malformed_hubspot_signature_is_refused(signature: str) -> None:
    assert not hubspot_ok(NOW_MS, signature)


def test_a_hubspot_signature_made_with_an_empty_secret_is_refused():
    assert not hubspot_ok(NOW_MS, hubspot_signature(NOW_MS, ""), secret="")


# Zoom


def zoom_signature(timestamp: str, secret: str = "zoom-secret-token-6b") -> str:
    return "v0=" + hex_hmac(secret, b"v0:" + timestamp.encode() + b":" + BODY)


def zoom_ok(timestamp: str | None, signature: str | None, secret: str = "zoom-secret-token-6b") -> bool:
    return zoom.verify_signature(BODY, timestamp, signature, secret, now=NOW)


def test_a_zoom_request_signed_now_is_accepted_in_seconds_or_milliseconds():
    assert zoom_ok(NOW_S, zoom_signature(NOW_S))
    assert zoom_ok(NOW_MS, zoom_signature(NOW_MS))
    assert not zoom_ok(NOW_S, zoom_signature(NOW_S, "zoom-secret-token-6c"))
    assert not zoom_ok(NOW_S, None)
    assert not zoom_ok(None, zoom_signature(NOW_S))


@pytest.mark.parametrize(
    "timestamp",
    [
        "1577836800",  # 2020-01-01: a delivery captured years ago
        str(int((NOW - timedelta(hours=1)).timestamp())),
        str(int((NOW - timedelta(minutes=6)).timestamp())),
        str(int((NOW + timedelta(minutes=6)).timestamp())),
        str(int((NOW - timedelta(hours=1)).timestamp() * 1000)),
    ],
)
def test_a_zoom_request_signed_outside_five_minutes_is_refused_even_with_a_good_signature(
    timestamp: str,
) -> None:
    assert not zoom_ok(timestamp, zoom_signature(timestamp))


@pytest.mark.parametrize("timestamp", MALFORMED_TIMESTAMPS)
def test_a_malformed_zoom_timestamp_is_refused_without_an_error(timestamp: str) -> None:
    assert not zoom_ok(timestamp, zoom_signature(timestamp))


@pytest.mark.parametrize("signature", ["", "v0=", "v1=" + "0" * 64, "v0=" + "ü" * 64, "v0=" + "f" * 10_000])
def test_a_malformed_zoom_signature_is_refused(signature: str) -> None:
    assert not zoom_ok(NOW_S, signature)


def test_a_zoom_signature_made_with_an_empty_secret_is_refused():
    assert not zoom_ok(NOW_S, zoom_signature(NOW_S, ""), secret="")


@pytest.mark.parametrize("token", [f"v0:{NOW_S}:" + BODY.decode(), "a" * 65, "qgg8 vlvZ", "qgg8:vlvZ", ""])
def test_a_zoom_url_validation_token_of_another_shape_is_never_signed(token: str) -> None:
    challenge = {"event": zoom.URL_VALIDATION, "event_ts": 1, "payload": {"plainToken": token}}
    with pytest.raises(PayloadError, match="plainToken"):
        zoom.url_validation_response(challenge, "zoom-secret-token-6b")
