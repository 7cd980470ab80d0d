"""Account matching by company domain or normalised name, and contact matching by email."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from leadflow_shared.contracts.lead import LeadProfile

LEGAL_SUFFIXES: frozenset[str] = frozenset(
    {
        "ab",
        "ag",
        "as",
        "bv",
        "co",
        "corp",
        "corporation",
        "cv",
        "gmbh",
        "inc",
        "incorporated",
        "kg",
        "kgaa",
        "limited",
        "llc",
        "llp",
        "lp",
        "ltd",
        "nv",
        "oy",
        "plc",
        "pty",
        "sa",
        "sarl",
        "sas",
        "se",
        "spa",
        "srl",
        "ug",
    }
)
"""Legal-form words dropped from the end of a company name (after punctuation is removed)."""

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "aol.com",
        "gmail.com",
        "googlemail.com",
        "gmx.de",
        "gmx.net",
        "hotmail.com",
        "icloud.com",
        "live.com",
        "mail.com",
        "me.com",
        "msn.com",
        "outlook.com",
        "proton.me",
        "protonmail.com",
        "web.de",
        "yahoo.com",
        "yandex.ru",
    }
)
"""Mailbox providers whose domain says nothing about the company (a last guard; intake filters too)."""

# Dots and apostrophes vanish so "S.A." reads "sa" and "O'Neil" reads "oneil"; other punctuation splits words.
_JOINING = re.compile(r"[.'\u2019]")
_SPLITTING = re.compile(r"[^0-9a-z]+")
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


def normalise_company_name(name: str | None) -> str | None:
    """The matching key of a company name: folded, without legal suffix, punctuation or whitespace."""
    if name is None:
        return None
    folded = unicodedata.normalize("NFKD", name.casefold().replace("ß", "ss"))
    ascii_only = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = [word for word in _SPLITTING.split(_JOINING.sub("", ascii_only)) if word]
    core = list(words)
    while core and core[-1] in LEGAL_SUFFIXES:
        core.pop()
    # A company called only by its legal form ("AG") keeps it rather than matching everything empty.
    kept = core or words
    return "".join(kept) or None


def normalise_domain(value: str | None) -> str | None:
    """The bare host of a domain, URL or email address, lower-cased and without www; None if not one."""
    if value is None:
        return None
    host = value.strip().lower()
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    host = host.split("://", 1)[-1]
    host = re.split(r"[/?#]", host, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host if _DOMAIN.match(host) else None


def company_domain(value: str | None, free_mail_domains: Iterable[str] = FREE_MAIL_DOMAINS) -> str | None:
    """The normalised domain if it can name a company: a free mail provider's domain cannot."""
    domain = normalise_domain(value)
    if domain is None or domain in frozenset(free_mail_domains):
        return None
    return domain


@dataclass(frozen=True)
class AccountKeys:
    """What an account is looked up by: its company domain and its normalised name."""

    domain: str | None
    name_key: str | None
    display_name: str


def account_keys(profile: LeadProfile) -> AccountKeys:
    """The account keys of a lead: domain from company domain, website or work email; name from company."""
    domain = (
        company_domain(profile.company_domain)
        or company_domain(profile.website)
        or company_domain(profile.email)
    )
    name_key = normalise_company_name(profile.company)
    return AccountKeys(domain=domain, name_key=name_key, display_name=_display_name(profile, domain))


def _display_name(profile: LeadProfile, domain: str | None) -> str:
    if profile.company and profile.company.strip():
        return profile.company.strip()
    if domain:
        return domain
    person = " ".join(part for part in (profile.first_name, profile.last_name) if part)
    return person or profile.email or "Unknown company"


@dataclass(frozen=True)
class AccountCandidate:
    """An existing account as the adapter found it by domain or by name key."""

    account_id: UUID
    name: str
    domain: str | None = None


class MatchedBy(StrEnum):
    """Which key tied a lead to an existing account."""

    DOMAIN = "domain"
    NAME = "name"


@dataclass(frozen=True)
class AccountMatch:
    """The account a lead belongs to: an existing one (with how it matched) or a new one to create."""

    keys: AccountKeys
    account_id: UUID | None = None
    matched_by: MatchedBy | None = None

    @property
    def is_new(self) -> bool:
        """True when no existing account fits and one must be created from the keys."""
        return self.account_id is None


def match_account(keys: AccountKeys, candidates: Sequence[AccountCandidate]) -> AccountMatch:
    """Pick the first candidate with the same domain, else the first with the same name key, else new.

    Candidates come in the adapter's order (oldest account first). A name match is refused when both
    sides know a domain and the domains differ: Acme Ltd (acme.co.uk) and Acme Inc (acme.com) may be
    different companies.
    """
    if keys.domain is not None:
        for candidate in candidates:
            if company_domain(candidate.domain) == keys.domain:
                return AccountMatch(keys, candidate.account_id, MatchedBy.DOMAIN)
    if keys.name_key is not None:
        for candidate in candidates:
            candidate_domain = company_domain(candidate.domain)
            if keys.domain is not None and candidate_domain is not None and candidate_domain != keys.domain:
                continue
            if normalise_company_name(candidate.name) == keys.name_key:
                return AccountMatch(keys, candidate.account_id, MatchedBy.NAME)
    return AccountMatch(keys)


def contact_key(email: str | None) -> str | None:
    """The matching key of a contact: the email, trimmed and lower-cased; None without one."""
    if email is None:
        return None
    key = email.strip().lower()
    return key if "@" in key else None


@dataclass(frozen=True)
class ContactCandidate:
    """An existing contact as the adapter found it by email key."""

    contact_id: UUID
    account_id: UUID
    email: str | None


def match_contact(email: str | None, candidates: Sequence[ContactCandidate]) -> ContactCandidate | None:
    """The existing contact with the same email key, or None when the person is new."""
    key = contact_key(email)
    if key is None:
        return None
    return next((c for c in candidates if contact_key(c.email) == key), None)
