"""Logs never carry secrets, frame locals or a lead's email and phone number."""

from __future__ import annotations

import json
import subprocess
import sys

from leadflow_shared.logging import MASK, Redactor, secret_values
from leadflow_shared.settings import Scope, ServiceSettings

TOKEN = "Zq7-api-token-for-the-intake-service"
DB_PASSWORD = "pg-pass-4e1d9c"


class VendorSettings(ServiceSettings):
    """Settings with a vendor secret and a mail password, as intake's and nurture's have."""

    service_name = "intake"
    meta_app_secret: str = ""
    google_ads_key: str = ""
    smtp_password: str | None = None
    default_region: str = "US"


def settings() -> VendorSettings:
    return VendorSettings(
        database_url=f"postgresql://intake:{DB_PASSWORD}@127.0.0.1:5432/leadflow",
        api_tokens={TOKEN: [Scope.ADMIN]},
        meta_app_secret="meta-app-secret-51c0",
        google_ads_key="google-form-key-7d1e",
        smtp_password="smtp-relay-password",
    )


def test_the_secrets_of_the_settings_are_the_tokens_the_db_password_and_every_secret_named_value() -> None:
    assert sorted(secret_values(settings())) == sorted(
        [TOKEN, DB_PASSWORD, "meta-app-secret-51c0", "google-form-key-7d1e", "smtp-relay-password"]
    )


def test_configured_secrets_are_masked_wherever_they_appear_even_deep_in_an_exception() -> None:
    redact = Redactor(secret_values(settings()))
    event = redact(
        None,
        "error",
        {
            "event": f"vendor refused meta-app-secret-51c0 and {TOKEN}",
            "exception": [{"exc_value": f"auth failed for {DB_PASSWORD}", "frames": [{"name": "fetch"}]}],
            "attempt": 3,
        },
    )
    text = json.dumps(event)
    for secret in (TOKEN, DB_PASSWORD, "meta-app-secret-51c0"):
        assert secret not in text
    assert event["event"] == f"vendor refused {MASK} and {MASK}"
    assert event["exception"][0]["frames"] == [{"name": "fetch"}]
    assert event["attempt"] == 3


def test_unconfigured_credentials_bearer_tokens_and_secret_pairs_are_masked_by_their_shape() -> None:
    redact = Redactor()
    assert redact.mask("cannot reach postgresql://nurture:hunter22@db:5432/leadflow") == (
        f"cannot reach postgresql://nurture:{MASK}@db:5432/leadflow"
    )
    assert redact.mask("Authorization: Bearer abc.def-123") == f"Authorization: Bearer {MASK}"
    assert redact.mask("dsn host=db password=s3cr3t user=x") == f"dsn host=db password={MASK} user=x"
    assert redact.mask('{"client_secret": "xyz987"}') == f'{{"client_secret": "{MASK}"}}'
    assert redact(None, "info", {"authorization": "Basic Zm9vOmJhcg=="}) == {"authorization": MASK}


def test_emails_and_phone_numbers_become_placeholders_and_ids_stay() -> None:
    redact = Redactor()
    event = redact(
        None,
        "warning",
        {
            "event": "touches not sent; retrying later",
            "error": "SMTPRecipientsRefused({'dana.kovacs@acme-robotics.example': (550, b'no mailbox')})",
            "reason": "phone +49 151 1234 5678 or +14155550123 invalid",
            "lead_id": "0b8f6c1e-3d7a-4c55-9a51-6f2d1c0e9a77",
            "time": "2026-12-06T13:45:00.123+00:00",
        },
    )
    assert event["error"] == "SMTPRecipientsRefused({'<email>': (550, b'no mailbox')})"
    assert event["reason"] == "phone <phone> or <phone> invalid"
    assert event["lead_id"] == "0b8f6c1e-3d7a-4c55-9a51-6f2d1c0e9a77"
    assert event["time"] == "2026-12-06T13:45:00.123+00:00"


CHILD = """
import logging
import structlog
from leadflow_shared.logging import configure_logging
configure_logging("intake", secrets=["pg-pass-4e1d9c"])

def connect(dsn):
    password = "pg-pass-4e1d9c"
    raise ConnectionError("refused for dana@acme-robotics.example")

try:
    connect("postgresql://intake:pg-pass-4e1d9c@127.0.0.1/leadflow")
except ConnectionError:
    structlog.get_logger().exception("unhandled error")
    logging.getLogger("uvicorn.error").exception("stdlib too")
"""


def test_a_logged_traceback_names_frames_but_no_locals_and_masks_its_message() -> None:
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    assert "pg-pass-4e1d9c" not in result.stdout
    assert "dana@acme-robotics.example" not in result.stdout
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["message"] for line in lines] == ["unhandled error", "stdlib too"]
    for line in lines:
        (exception,) = line["exception"]
        assert exception["exc_value"] == "refused for <email>"
        assert [frame["name"] for frame in exception["frames"]] == ["<module>", "connect"]
        assert all("locals" not in frame for frame in exception["frames"])
