"""Recognise the same person: exact identity keys first, then a fuzzy match on name and company."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from rapidfuzz import fuzz, process

from leadflow_shared.contracts.lead import Consent, LeadProfile, QualifyingAnswers, Touch

from .normalise import fold

K = TypeVar("K")


class IdentityKind(StrEnum):
    """What an identity key is made of."""

    EMAIL = "email"
    PHONE = "phone"
    SOURCE = "source"


@dataclass(frozen=True, order=True)
class IdentityKey:
    """One exact way to recognise a lead again (stored and looked up as kind + value)."""

    kind: IdentityKind
    value: str


class MatchOutcome(StrEnum):
    """What to do with a new profile given the existing ones."""

    MERGE = "merge"
    REVIEW = "review"
    NEW = "new"


@dataclass(frozen=True)
class MatchThresholds:
    """Scores (0-100) at and above which a fuzzy match merges, or goes to a person for review."""

    merge: float = 95.0
    review: float = 80.0

    def __post_init__(self) -> None:
        if not 0 <= self.review <= self.merge <= 100:
            raise ValueError("thresholds need 0 <= review <= merge <= 100")


@dataclass(frozen=True)
class MatchDecision(Generic[K]):
    """The answer for a new profile: merge into / review against a candidate, or a new lead."""

    outcome: MatchOutcome
    score: float
    candidate: K | None = None
    reason: str = ""


# Legal forms and filler words that say nothing about which company it is.
COMPANY_NOISE: frozenset[str] = frozenset(
    {
        "gmbh",
        "ag",
        "kg",
        "ohg",
        "ug",
        "se",
        "co",
        "mbh",
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "plc",
        "corp",
        "corporation",
        "company",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "ab",
        "oy",
        "as",
        "aps",
        "pty",
        "the",
        "group",
        "holding",
        "und",
        "and",
    }
)


def identity_keys(profile: LeadProfile, touch: Touch | None = None) -> frozenset[IdentityKey]:
    """The exact keys of a normalised profile: email, E.164 phone and the source's own id."""
    keys: set[IdentityKey] = set()
    if profile.email:
        keys.add(IdentityKey(IdentityKind.EMAIL, profile.email.strip().lower()))
    if profile.phone:
        keys.add(IdentityKey(IdentityKind.PHONE, profile.phone.strip()))
    if touch is not None and touch.source_id:
        keys.add(IdentityKey(IdentityKind.SOURCE, f"{touch.source_system}:{touch.source_id}"))
    return frozenset(keys)


def person_name(profile: LeadProfile) -> str:
    """The folded full name used for fuzzy matching ("Dana Kovács" -> "dana kovacs")."""
    return folded_name(profile.first_name, profile.last_name)


# Every new lead is compared with up to a hundred stored people of its company, and those same people come up
# again for each newcomer there: folding a name costs more than the comparison itself.
@functools.lru_cache(maxsize=16_384)
def folded_name(first_name: str | None, last_name: str | None) -> str:
    """person_name from the two parts."""
    parts = [p for p in (first_name, last_name) if p]
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", fold(" ".join(parts))).split())


def worth_comparing(
    new: LeadProfile,
    first_name: str | None,
    last_name: str | None,
    email: str | None,
    phone: str | None,
    thresholds: MatchThresholds,
) -> bool:
    """Whether match() could find more than a new lead in a stored candidate with these fields.

    Only a shared email or phone, or names at least `review` alike, make a candidate count; the others
    need not be read in full.
    """
    if new.email and email and email.strip().lower() == new.email.strip().lower():
        return True
    if new.phone and phone and phone.strip() == new.phone.strip():
        return True
    left, right = person_name(new), folded_name(first_name, last_name)
    return bool(left and right) and fuzz.token_sort_ratio(left, right) >= thresholds.review


def worth_comparing_among(
    new: LeadProfile,
    stored: Iterable[tuple[K, str, str | None, str | None]],
    thresholds: MatchThresholds,
) -> set[K]:
    """The stored people (key, folded name as folded_name() gives it, email, phone) that worth_comparing()
    holds true for.

    The names go through one fuzzy pass together, with a cutoff a point below the review threshold (a cutoff
    is rounded otherwise than a score), and only the names it lets through are compared again one by one: a
    call per name from Python cost more than the comparison itself.
    """
    email = new.email.strip().lower() if new.email else None
    phone = new.phone.strip() if new.phone else None
    left = person_name(new)
    worth: set[K] = set()
    names: dict[K, str] = {}
    for key, right, their_email, their_phone in stored:
        if (email is not None and their_email and their_email.strip().lower() == email) or (
            phone is not None and their_phone and their_phone.strip() == phone
        ):
            worth.add(key)
        elif left and right:
            names[key] = right
    if names:
        near = process.extract(
            left, names, scorer=fuzz.token_sort_ratio, score_cutoff=max(thresholds.review - 1, 0), limit=None
        )
        worth.update(
            key for _, _, key in near if fuzz.token_sort_ratio(left, names[key]) >= thresholds.review
        )
    return worth


def company_name(profile: LeadProfile) -> str:
    """The folded company name without legal form ("ACME GmbH & Co. KG" -> "acme")."""
    return folded_company(profile.company or "")


@functools.lru_cache(maxsize=4096)
def folded_company(company: str) -> str:
    """company_name from the name as given."""
    words = re.sub(r"[^a-z0-9 ]", " ", fold(company)).split()
    kept = [w for w in words if w not in COMPANY_NOISE]
    return " ".join(kept or words)


def name_score(a: LeadProfile, b: LeadProfile) -> float:
    """How alike two people's names are, 0-100; 0 when either has no name."""
    left, right = person_name(a), person_name(b)
    if not left or not right:
        return 0.0
    return float(fuzz.token_sort_ratio(left, right))


def company_score(a: LeadProfile, b: LeadProfile) -> float:
    """How alike two people's companies are, 0-100; the same company domain counts as identical."""
    if a.company_domain and b.company_domain and a.company_domain == b.company_domain:
        return 100.0
    left, right = company_name(a), company_name(b)
    if not left or not right:
        return 0.0
    return float(fuzz.ratio(left, right))


def match_score(a: LeadProfile, b: LeadProfile) -> float:
    """Fuzzy likeness of two profiles: the weaker of name and company, so both must agree."""
    return min(name_score(a, b), company_score(a, b))


def _different_work_emails(a: LeadProfile, b: LeadProfile) -> bool:
    # Two distinct addresses at the company's own domain are two mailboxes, almost always two people.
    return bool(
        a.email
        and b.email
        and a.email != b.email
        and a.company_domain
        and a.company_domain == b.company_domain
        and a.email.endswith("@" + a.company_domain)
        and b.email.endswith("@" + b.company_domain)
    )


def match(
    new: LeadProfile,
    candidates: Iterable[tuple[K, LeadProfile]],
    thresholds: MatchThresholds = MatchThresholds(),
) -> MatchDecision[K]:
    """Decide whether a new profile is a known person: merge, review or new, with the best score."""
    best: MatchDecision[K] = MatchDecision(MatchOutcome.NEW, 0.0, None, "no similar lead")
    new_keys = identity_keys(new)
    for key, candidate in candidates:
        shared = new_keys & identity_keys(candidate)
        if any(k.kind is IdentityKind.EMAIL for k in shared):
            return MatchDecision(MatchOutcome.MERGE, 100.0, key, "same email address")
        score = match_score(new, candidate)
        if any(k.kind is IdentityKind.PHONE for k in shared):
            # A shared phone may be a switchboard: merge only when the names agree too.
            phone_outcome = (
                MatchOutcome.MERGE if name_score(new, candidate) >= thresholds.review else MatchOutcome.REVIEW
            )
            decision = MatchDecision(phone_outcome, max(score, thresholds.review), key, "same phone number")
        elif _different_work_emails(new, candidate):
            decision = MatchDecision(MatchOutcome.NEW, score, key, "different work email at the same company")
        elif new.email and candidate.email and score >= thresholds.review:
            # Two addresses are two claims of identity: a look-alike name never outweighs them without a
            # stronger key (a shared phone, above), so a person decides.
            decision = MatchDecision(
                MatchOutcome.REVIEW, score, key, "similar name, different email addresses"
            )
        elif score >= thresholds.merge:
            decision = MatchDecision(MatchOutcome.MERGE, score, key, "same name at the same company")
        elif score >= thresholds.review:
            decision = MatchDecision(MatchOutcome.REVIEW, score, key, "similar name at a similar company")
        else:
            decision = MatchDecision(MatchOutcome.NEW, score, key, "no similar lead")
        if _rank(decision) > _rank(best):
            best = decision
    if best.outcome is MatchOutcome.NEW:
        return MatchDecision(MatchOutcome.NEW, best.score, None, "no similar lead")
    return best


def _rank(decision: MatchDecision[K]) -> tuple[int, float]:
    order = {MatchOutcome.NEW: 0, MatchOutcome.REVIEW: 1, MatchOutcome.MERGE: 2}
    return order[decision.outcome], decision.score


def merge_profiles(survivor: LeadProfile, other: LeadProfile) -> LeadProfile:
    """The survivor with its empty fields filled from the other; nothing the survivor has is overwritten."""
    fill = {
        name: getattr(other, name)
        for name in LeadProfile.model_fields
        if name not in ("consent", "answers", "custom_fields", "is_test")
        and getattr(survivor, name) is None
        and getattr(other, name) is not None
    }
    if survivor.seniority in (None, "unknown") and other.seniority not in (None, "unknown"):
        fill["seniority"] = other.seniority
    consent = Consent(
        email=survivor.consent.email if survivor.consent.email is not None else other.consent.email,
        phone=survivor.consent.phone if survivor.consent.phone is not None else other.consent.phone,
        sms=survivor.consent.sms if survivor.consent.sms is not None else other.consent.sms,
    )
    answers = QualifyingAnswers(
        budget=survivor.answers.budget or other.answers.budget,
        authority=survivor.answers.authority or other.answers.authority,
        need=survivor.answers.need or other.answers.need,
        timeline=survivor.answers.timeline or other.answers.timeline,
    )
    return survivor.model_copy(
        update={
            **fill,
            "consent": consent,
            "answers": answers,
            "custom_fields": {**other.custom_fields, **survivor.custom_fields},
            # One real submission makes the person real.
            "is_test": survivor.is_test and other.is_test,
        }
    )
