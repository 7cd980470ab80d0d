"""Signed, expiring, per-recipient unsubscribe tokens for RFC 8058 one-click unsubscribe links.

A token is base64url(version, lead id, channel, expiry) followed by a truncated HMAC-SHA256 of those
bytes: it names one lead on one channel until one moment, and only the holder of the secret can make one.
Nothing is stored per link: the signature is the proof, and the token's hash is what a record keeps.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from leadflow_shared.contracts.lead import ContactChannel

_VERSION = 1
_CLAIM = struct.Struct(">B16sBq")
_SIGNATURE_BYTES = 16
_CHANNELS = {ContactChannel.EMAIL: 1, ContactChannel.PHONE: 2, ContactChannel.SMS: 3}
_CHANNEL_OF = {code: channel for channel, code in _CHANNELS.items()}
# A token is 56 characters; anything much longer was never made here.
MAX_TOKEN = 128
MIN_SECRET = 32


class BadToken(ValueError):
    """A token this service did not make, or one altered since."""


class ExpiredToken(BadToken):
    """A genuine token whose time is over."""

    def __init__(self, expired_at: datetime) -> None:
        self.expired_at = expired_at
        super().__init__(
            f"this unsubscribe link expired on {expired_at:%Y-%m-%d}; use the link of a more recent email"
        )


@dataclass(frozen=True)
class Claim:
    """What a token says: unsubscribe this lead from this channel, if asked before expires_at."""

    lead_id: UUID
    channel: ContactChannel
    expires_at: datetime


def sign(claim: Claim, secret: bytes) -> str:
    """The token of a claim, signed with the secret."""
    payload = _CLAIM.pack(
        _VERSION, claim.lead_id.bytes, _CHANNELS[claim.channel], int(claim.expires_at.timestamp())
    )
    return _encode(payload + _signature(payload, secret))


def verify(token: str, secret: bytes, at: datetime) -> Claim:
    """The claim of a genuine token still valid at `at`; BadToken (or ExpiredToken) otherwise."""
    if len(token) > MAX_TOKEN or not token.isascii():
        raise BadToken("not an unsubscribe link of this sender")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadToken("not an unsubscribe link of this sender") from error
    payload, signature = raw[: _CLAIM.size], raw[_CLAIM.size :]
    if len(raw) != _CLAIM.size + _SIGNATURE_BYTES or not hmac.compare_digest(
        signature, _signature(payload, secret)
    ):
        raise BadToken("not an unsubscribe link of this sender, or one altered since it was sent")
    version, lead, channel, expires = _CLAIM.unpack(payload)
    if version != _VERSION or channel not in _CHANNEL_OF:
        raise BadToken("an unsubscribe link of a format this service no longer reads")
    expires_at = datetime.fromtimestamp(expires, UTC)
    if at >= expires_at:
        raise ExpiredToken(expires_at)
    return Claim(UUID(bytes=lead), _CHANNEL_OF[channel], expires_at)


def token_hash(token: str) -> str:
    """The sha256 hex of a token: the proof a consent record keeps instead of the link itself."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class UnsubscribeLinks:
    """Each recipient's one-click link: the service's public URL, the signing secret, how long links hold."""

    public_url: str
    secret: bytes
    valid_for: timedelta = timedelta(days=60)

    def url(self, lead_id: UUID, at: datetime, channel: ContactChannel = ContactChannel.EMAIL) -> str:
        """The lead's link, valid from `at` for valid_for."""
        token = sign(Claim(lead_id, channel, at + self.valid_for), self.secret)
        return f"{self.public_url.rstrip('/')}/v1/unsubscribe/{token}"


def _signature(payload: bytes, secret: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
