"""How a person is named where their data may not be kept: an email's one-way hash."""

from __future__ import annotations

import hashlib


def email_hash(email: str) -> str:
    """The sha256 hex of the trimmed, lower-cased address: what a suppression list keeps after erasure."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()
