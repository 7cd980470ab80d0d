"""Synthetic leads: a realistic mix of sources, outcomes spread over every decision, some people twice."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from leadflow_shared.contracts.envelope import encode, new_event
from leadflow_shared.contracts.events import LeadSubmitted
from leadflow_shared.contracts.lead import (
    Campaign,
    Channel,
    Consent,
    LeadSubmission,
    QualifyingAnswers,
)

T = TypeVar("T")

# (channel, source system, weight): roughly how a B2B funnel's leads arrive.
SOURCES: tuple[tuple[Channel, str, int], ...] = (
    (Channel.WEB_FORM, "website", 30),
    (Channel.PAID_ADS, "linkedin_lead_gen", 15),
    (Channel.PAID_ADS, "google_ads", 10),
    (Channel.PAID_ADS, "facebook_lead_ads", 8),
    (Channel.CONTENT_DOWNLOAD, "hubspot", 10),
    (Channel.WEBINAR, "zoom", 7),
    (Channel.TRADE_SHOW, "badge_scanner", 5),
    (Channel.REFERRAL, "partner_portal", 5),
    (Channel.SOCIAL, "twitter", 4),
    (Channel.WEBSITE, "website", 4),
    (Channel.SALES, "crm", 2),
)

# The outcome each profile aims at under DEFAULT_CRITERIA, with its share of the mix.
OUTCOMES: tuple[tuple[str, int], ...] = (
    ("qualified_opportunity", 20),
    ("qualified", 15),
    ("not_icp", 20),
    ("no_need", 15),
    ("no_authority", 15),
    ("no_budget", 15),
)

FIRST = ("Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Dennis", "Frances", "Ken", "Radia", "Tim")
LAST = ("Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Ritchie", "Allen", "Thompson")
# Many companies with a few people each, as in a real funnel (dedup compares a lead with its colleagues).
PREFIXES = ("North", "Blue", "Bright", "Iron", "Silver", "Green", "Swift", "Clear", "Oak", "Summit")
STEMS = ("wind", "stone", "field", "bridge", "river", "forge", "peak", "harbor", "grove", "light")
SUFFIXES = ("Logistics", "Software", "Finance", "Manufacturing", "Commerce", "Systems", "Freight", "Labs")
INDUSTRY_OF = {
    "Logistics": "logistics",
    "Software": "software",
    "Finance": "financial services",
    "Manufacturing": "manufacturing",
    "Commerce": "e-commerce",
    "Systems": "information technology",
    "Freight": "logistics",
    "Labs": "saas",
}
SMALL_BUSINESSES = ("Bakery", "Yoga Studio", "Hardware Store", "Florist", "Barber", "Cafe")
FREE_MAIL = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com")


def _fit_company(rng: random.Random) -> tuple[str, str, str]:
    prefix, stem, suffix = rng.choice(PREFIXES), rng.choice(STEMS), rng.choice(SUFFIXES)
    name = f"{prefix}{stem} {suffix}"
    return name, f"{prefix}{stem}-{suffix}.example".lower(), INDUSTRY_OF[suffix]


def _small_business(rng: random.Random) -> tuple[str, str, str]:
    name = f"{rng.choice(LAST)}'s {rng.choice(SMALL_BUSINESSES)} {rng.randint(1, 400)}"
    return name, rng.choice(FREE_MAIL), "retail"


FIT_COUNTRIES = ("DE", "US", "GB", "NL", "FR", "CH", "AT", "CA")
SENIOR_TITLES = ("VP Sales", "Chief Technology Officer", "Head of Operations", "Director of IT")


@dataclass(frozen=True)
class SyntheticLead:
    """One submission and the outcome it is meant to reach."""

    submission: LeadSubmission
    outcome: str
    duplicate: bool


def _weighted(rng: random.Random, items: tuple[tuple[T, int], ...]) -> T:
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def _answers(outcome: str) -> QualifyingAnswers:
    yes = QualifyingAnswers(
        need="replace our spreadsheets for dispatch planning",
        authority="yes, I sign off purchases",
        budget="EUR 50000",
        timeline="this quarter",
    )
    if outcome == "qualified":
        return yes.model_copy(update={"timeline": "next year", "budget": "EUR 12000"})
    if outcome == "no_need":
        return yes.model_copy(update={"need": "no need"})
    if outcome == "no_authority":
        return yes.model_copy(update={"authority": "no"})
    if outcome == "no_budget":
        return yes.model_copy(update={"budget": "no budget"})
    return yes


def make_lead(rng: random.Random, n: int, run: str) -> SyntheticLead:
    """A fresh person with an outcome drawn from the mix."""
    outcome = _weighted(rng, tuple((o, w) for o, w in OUTCOMES))
    channel, source_system = _weighted(rng, tuple(((c, s), w) for c, s, w in SOURCES))
    first, last = rng.choice(FIRST), rng.choice(LAST)
    if outcome == "not_icp":
        company, domain, industry = _small_business(rng)
        country, size, title = rng.choice(("BR", "IN", "ZA", "DE")), rng.randint(1, 8), "Owner"
    else:
        company, domain, industry = _fit_company(rng)
        country, size, title = rng.choice(FIT_COUNTRIES), rng.randint(40, 3000), rng.choice(SENIOR_TITLES)
    submission = LeadSubmission(
        first_name=first,
        last_name=last,
        email=f"{first.lower()}.{last.lower()}.{run}{n}@{domain}",
        phone=f"+49 30 {rng.randint(1000000, 9999999)}",
        company=company,
        website=f"https://{domain}",
        job_title=title,
        country=country,
        industry=industry,
        company_size=size,
        consent=Consent(email=rng.random() < 0.8),
        answers=_answers(outcome),
        channel=channel,
        source_system=source_system,
        source_id=f"{run}-{n}",
        campaign=Campaign(utm_source=source_system, utm_medium="cpc", utm_campaign="autumn-launch"),
        submitted_at=datetime.now(UTC),
    )
    return SyntheticLead(submission, outcome, duplicate=False)


def leads(count: int, *, run: str, duplicates: float = 0.1, seed: int = 7) -> Iterator[SyntheticLead]:
    """`count` submissions; about `duplicates` of them repeat an earlier person's email from a new source."""
    rng = random.Random(seed)
    seen: list[SyntheticLead] = []
    for n in range(count):
        if seen and rng.random() < duplicates:
            earlier = rng.choice(seen)
            again = earlier.submission.model_copy(
                update={"source_id": f"{run}-{n}", "channel": Channel.WEBINAR, "source_system": "zoom"}
            )
            yield SyntheticLead(again, earlier.outcome, duplicate=True)
            continue
        lead = make_lead(rng, n, run)
        if len(seen) < 50_000:
            seen.append(lead)
        yield lead


def encoded(lead: SyntheticLead) -> tuple[str, bytes]:
    """The lead.submitted CloudEvent for a lead: its id (the correlation id downstream) and its bytes."""
    envelope = new_event(LeadSubmitted(submission=lead.submission), source="bench")
    return str(envelope.id), encode(envelope)
