"""Unsubscribe tokens: each names one lead on one channel until one moment, and only the secret makes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from leadflow_nurture.domain.unsubscribe import (
    BadToken,
    Claim,
    ExpiredToken,
    UnsubscribeLinks,
    sign,
    token_hash,
    verify,
)
from leadflow_shared.contracts.lead import ContactChannel

SECRET = b"orbital-bakery-signing-secret-42!"
INES = UUID("77c0a7e1-be28-42ad-8f20-e2e0b7e6a408")
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLAIM = Claim(INES, ContactChannel.EMAIL, MONDAY + timedelta(days=60))


def test_a_signed_token_reads_back_as_its_lead_channel_and_expiry() -> None:
    token = sign(CLAIM, SECRET)

    assert verify(token, SECRET, MONDAY) == CLAIM
    assert token.isascii()
    assert token.replace("-", "").replace("_", "").isalnum()


def test_each_lead_and_channel_gets_its_own_token() -> None:
    other_lead = Claim(UUID(int=1), ContactChannel.EMAIL, CLAIM.expires_at)
    sms = Claim(INES, ContactChannel.SMS, CLAIM.expires_at)

    tokens = {sign(CLAIM, SECRET), sign(other_lead, SECRET), sign(sms, SECRET)}

    assert len(tokens) == 3
    assert verify(sign(sms, SECRET), SECRET, MONDAY).channel is ContactChannel.SMS


def test_a_token_past_its_expiry_is_refused_as_expired_with_the_date() -> None:
    token = sign(CLAIM, SECRET)

    with pytest.raises(ExpiredToken, match="expired on 2026-05-01"):
        verify(token, SECRET, MONDAY + timedelta(days=60))


@pytest.mark.parametrize(
    "token",
    [
        sign(CLAIM, b"another-bakery-signing-secret-42!"),
        sign(CLAIM, SECRET)[:-1] + ("A" if sign(CLAIM, SECRET)[-1] != "A" else "B"),
        sign(CLAIM, SECRET)[:10],
        sign(CLAIM, SECRET) + "AAAA",
        "!" + sign(CLAIM, SECRET),
        "",
        "é" * 10,
        "A" * 500,
    ],
    ids=["other-secret", "tampered", "truncated", "extended", "junk-character", "empty", "non-ascii", "huge"],
)
def test_a_token_not_made_with_the_secret_is_refused(token: str) -> None:
    with pytest.raises(BadToken) as refused:
        verify(token, SECRET, MONDAY)

    assert not isinstance(refused.value, ExpiredToken)


def test_a_recipient_s_link_is_the_public_url_and_a_token_valid_for_the_configured_time() -> None:
    links = UnsubscribeLinks("https://nurture.orbital-bakery.example/", SECRET, timedelta(days=30))

    url = links.url(INES, MONDAY)

    base, token = url.rsplit("/", 1)
    assert base == "https://nurture.orbital-bakery.example/v1/unsubscribe"
    assert verify(token, SECRET, MONDAY).expires_at == MONDAY + timedelta(days=30)
    assert len(url) < 120


def test_the_proof_hash_names_the_token_without_holding_it() -> None:
    token = sign(CLAIM, SECRET)

    assert token_hash(token) == token_hash(token)
    assert token not in token_hash(token)
    assert len(token_hash(token)) == 64
