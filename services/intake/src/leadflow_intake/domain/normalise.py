"""Turn a submitted lead into the canonical profile and the touch that brought it."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import urlsplit

import email_validator
import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH
from email_validator.syntax import validate_email_domain_name

from leadflow_shared.contracts.lead import LeadProfile, LeadSubmission, QualifyingAnswers, Touch


class Seniority(StrEnum):
    """How senior a job title is, coarse enough for scoring rules."""

    C_LEVEL = "c_level"
    VP = "vp"
    DIRECTOR = "director"
    MANAGER = "manager"
    INDIVIDUAL = "individual"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class FieldProblem:
    """Something wrong with one field of a submission."""

    field: str
    message: str


@dataclass(frozen=True)
class Normalised:
    """A submission made canonical, with what had to be dropped on the way."""

    profile: LeadProfile
    touch: Touch
    warnings: tuple[FieldProblem, ...] = ()


@dataclass(frozen=True)
class Rejected:
    """A submission that cannot become a lead, and why."""

    problems: tuple[FieldProblem, ...] = field(default_factory=tuple)

    def reason(self) -> str:
        """All problems in one human-readable line."""
        return "; ".join(f"{p.field}: {p.message}" for p in self.problems)


NormaliseResult = Normalised | Rejected

# Addresses at these domains say nothing about the employer.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "protonmail.ch",
        "pm.me",
        "web.de",
        "t-online.de",
        "freenet.de",
        "posteo.de",
        "mailbox.org",
        "arcor.de",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "tutanota.com",
        "tuta.io",
        "yandex.ru",
        "yandex.com",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "interia.pl",
        "btinternet.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "rocketmail.com",
    }
)
# Providers that run the same service under many country TLDs (yahoo.co.uk, gmx.at, hotmail.fr, ...).
FREE_MAIL_PREFIXES: tuple[str, ...] = ("yahoo.", "ymail.", "hotmail.", "outlook.", "live.", "gmx.", "aol.")

# A website on one of these is a profile page, not the company's own site.
NON_COMPANY_WEBSITES: frozenset[str] = frozenset(
    {"linkedin.com", "facebook.com", "instagram.com", "twitter.com", "x.com", "xing.com", "youtube.com"}
)

# First match wins, so "vice president" is read before "president".
SENIORITY_RULES: tuple[tuple[Seniority, tuple[str, ...]], ...] = (
    (Seniority.VP, (r"vice[- ]president", r"\b[sea]?vp\b", r"\bvice\b")),
    (
        Seniority.C_LEVEL,
        (
            r"\bchief\b",
            r"\bc[a-z]{1,2}o\b",
            r"\bpresident\b",
            r"\b(co-?)?founder\b",
            r"\bbusiness owner\b",
            r"\binhaber(in)?\b",
            r"\bmanaging director\b",
            r"\bgeschäftsführer(in)?\b",
            r"\bvorstand\b",
            r"\bmanaging partner\b",
        ),
    ),
    (
        Seniority.DIRECTOR,
        (
            r"\bdirector\b",
            r"\bdirektor(in)?\b",
            r"\bhead\b",
            r"\bleiter(in)?\b",
            r"abteilungsleiter",
            r"bereichsleiter",
            r"\bgeneral manager\b",
        ),
    ),
    (
        Seniority.MANAGER,
        (r"\bmanager\b", r"\bmanagerin\b", r"\blead\b", r"\bsupervisor\b", r"teamleiter", r"\bteam lead"),
    ),
    (
        Seniority.INDIVIDUAL,
        (
            r"\bengineer\b",
            r"\bdeveloper\b",
            r"\banalyst\b",
            r"\bspecialist\b",
            r"\bconsultant\b",
            r"\bassociate\b",
            r"\bcoordinator\b",
            r"\bassistant\b",
            r"\brepresentative\b",
            r"\bdesigner\b",
            r"\baccountant\b",
            r"\badministrator\b",
            r"\bscientist\b",
            r"\bintern\b",
            r"\bentwickler(in)?\b",
            r"\breferent(in)?\b",
            r"\bsachbearbeiter(in)?\b",
            r"\bmitarbeiter(in)?\b",
        ),
    ),
)
_SENIORITY_PATTERNS = tuple((s, tuple(re.compile(p) for p in ps)) for s, ps in SENIORITY_RULES)

# Names people write that pycountry does not know (keys are casefolded).
COUNTRY_ALIASES: dict[str, str] = {
    "uk": "GB",
    "u.k.": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "great britain": "GB",
    "britain": "GB",
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "us": "US",
    "america": "US",
    "united states of america": "US",
    "deutschland": "DE",
    "germany": "DE",
    "österreich": "AT",
    "oesterreich": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "nederland": "NL",
    "holland": "NL",
    "the netherlands": "NL",
    "frankreich": "FR",
    "italien": "IT",
    "spanien": "ES",
    "españa": "ES",
    "espana": "ES",
    "polen": "PL",
    "polska": "PL",
    "russia": "RU",
    "south korea": "KR",
    "korea": "KR",
    "turkey": "TR",
    "türkei": "TR",
    "czechia": "CZ",
    "tschechien": "CZ",
    "uae": "AE",
    "vereinigte staaten": "US",
    "großbritannien": "GB",
    "grossbritannien": "GB",
    "belgien": "BE",
    "dänemark": "DK",
    "schweden": "SE",
    "norwegen": "NO",
}

_NAME_PARTICLES = frozenset(
    {"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "del", "della", "ten", "ter", "zu"}
)


def clean(value: str | None) -> str | None:
    """Trim and collapse whitespace; empty means absent."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def split_full_name(full_name: str) -> tuple[str | None, str | None]:
    """Split "Dana Kovacs", "Kovacs, Dana" or "Ludwig van Beethoven" into first and last name."""
    text = clean(full_name)
    if text is None:
        return None, None
    if "," in text:
        last, _, first = text.partition(",")
        return clean(first), clean(last)
    parts = text.split(" ")
    if len(parts) == 1:
        return parts[0], None
    for i, part in enumerate(parts[1:], start=1):
        if part.casefold() in _NAME_PARTICLES:
            return " ".join(parts[:i]), " ".join(parts[i:])
    return " ".join(parts[:-1]), parts[-1]


def normalise_email(raw: str) -> str:
    """Validate an email address and lower-case it, the domain in ASCII (IDNA); raises ValueError saying why.

    An internationalised domain is accepted and kept as punycode, so both spellings match one person. A
    non-ASCII local part is refused: mail to it needs SMTPUTF8 all the way, which no sender here promises.
    """
    text = raw.strip()
    plain = _plain_address(text)
    if plain is not None:
        return plain
    local = text.rpartition("@")[0]
    if local and not local.isascii():
        raise ValueError(
            "non-ASCII characters before the @-sign are not accepted (the address needs SMTPUTF8, which"
            " our mail senders do not guarantee)"
        )
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    if checked.ascii_email is None:  # not reached: without SMTPUTF8 every valid address has an ASCII form
        raise ValueError("the address has no ASCII form")
    return checked.ascii_email.lower()


def email_key(raw: str) -> str:
    """An address as identity keys hold it, for lookups: normalise_email()'s form, else lower-cased."""
    try:
        return normalise_email(raw)
    except ValueError:
        return raw.strip().lower()


def _plain_address(text: str) -> str | None:
    """normalise_email() of a plain valid address (an ASCII dot-atom before a valid domain), with the domain
    checked once per process; None for any other address, which email-validator then reads in full.

    For a plain address the library does nothing else but split it at the @-sign and check three lengths.
    """
    local, _, domain = text.partition("@")
    if not (domain and text.isascii() and DOT_ATOM_TEXT.match(local)) or email_validator.STRICT:
        return None
    found = mail_domain(domain, email_validator.TEST_ENVIRONMENT, email_validator.GLOBALLY_DELIVERABLE)
    if found is None:
        return None
    unicode_domain, ascii_domain = found
    normalized = f"{local}@{ascii_domain}"
    lengths = (len(text), len(f"{local}@{unicode_domain}".encode()), len(normalized))
    return normalized.lower() if max(lengths) <= EMAIL_MAX_LENGTH else None


# Leads of one company share its mail domain, and the domain check (UTS-46 mapping, IDNA, per-character
# tables) costs twice the rest of the validation.
@functools.lru_cache(maxsize=4096)
def mail_domain(domain: str, test_environment: bool, globally_deliverable: bool) -> tuple[str, str] | None:
    """email-validator's verdict on the part after the @-sign: Unicode and ASCII forms, None if invalid."""
    try:
        checked = validate_email_domain_name(
            domain, test_environment=test_environment, globally_deliverable=globally_deliverable
        )
    except EmailNotValidError:
        return None
    return checked["domain"], checked["ascii_domain"]


def normalise_phone(raw: str, region: str | None) -> str:
    """Parse a phone number to E.164, using the country for national numbers; raises ValueError."""
    text = raw.strip()
    if text.lower().startswith("p:"):  # Meta's CSV export prefixes phones like this
        text = text[2:].strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if region is None and not text.startswith("+"):
            raise ValueError("a national number needs a country or a +country prefix") from exc
        raise ValueError(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_free_mail_domain(domain: str) -> bool:
    """Whether a mail domain belongs to a consumer mail provider rather than an employer."""
    d = domain.lower().strip(".")
    return d in FREE_MAIL_DOMAINS or d.startswith(FREE_MAIL_PREFIXES)


def website_domain(website: str) -> str | None:
    """The bare host of a website ("https://www.acme.example/x" -> "acme.example"), if it is one."""
    text = website.strip()
    if not text:
        return None
    if "://" not in text:
        text = "http://" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    if not host or "." not in host or " " in host:
        return None
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def company_domain(email: str | None, website: str | None) -> str | None:
    """The company's domain from a work email, else from its website; never a free-mail domain."""
    if email and "@" in email:
        domain = email.rsplit("@", 1)[1].lower()
        if not is_free_mail_domain(domain):
            return domain
    if website:
        host = website_domain(website)
        if host and not is_free_mail_domain(host) and host not in NON_COMPANY_WEBSITES:
            return host
    return None


# Titles repeat across leads ("Head of Operations", "CEO"): each is read once per process.
@functools.lru_cache(maxsize=4096)
def seniority_of(job_title: str | None) -> Seniority:
    """Read the seniority from a job title by keyword rules."""
    if not job_title:
        return Seniority.UNKNOWN
    title = job_title.casefold()
    for seniority, patterns in _SENIORITY_PATTERNS:
        if any(p.search(title) for p in patterns):
            return seniority
    return Seniority.UNKNOWN


# A few spellings of a few countries make most leads' country.
@functools.lru_cache(maxsize=1024)
def country_code(raw: str | None) -> str | None:
    """ISO 3166 alpha-2 for a country code, name or common alias; None when unknown."""
    text = clean(raw)
    if text is None:
        return None
    alias = COUNTRY_ALIASES.get(text.casefold())
    if alias:
        return alias
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None


_SIZE_NUMBER = re.compile(r"(\d{1,3}(?:[.,]\d{3})+|\d+)\s*([kK])?")


def parse_company_size(raw: str | int | None) -> int | None:
    """A representative head count (the lower bound) from "51-200", "1,000+", "10.000+", "1k-5k", "<10"."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw >= 0 else None
    text = raw.strip().lower()
    match = _SIZE_NUMBER.search(text)
    if match is None:
        return None
    number = int(re.sub(r"[.,]", "", match.group(1)))
    if match.group(2):
        number *= 1000
    if text.startswith(("<", "less than", "under", "bis", "fewer than", "up to")):
        return 1 if number > 0 else 0
    return number


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def normalise(
    submission: LeadSubmission, *, received_at: datetime, default_region: str | None = None
) -> NormaliseResult:
    """Make a submission canonical, or reject it with the fields that are wrong.

    A national phone number is read in the lead's country, else in `default_region`.
    """
    problems: list[FieldProblem] = []
    warnings: list[FieldProblem] = []

    first, last = clean(submission.first_name), clean(submission.last_name)
    full = clean(submission.full_name)
    if full and (first is None or last is None):
        split_first, split_last = split_full_name(full)
        first = first or split_first
        last = last or split_last

    country = country_code(submission.country)
    if submission.country and clean(submission.country) and country is None:
        warnings.append(FieldProblem("country", f"unknown country {submission.country!r}, dropped"))

    email: str | None = None
    email_problem: FieldProblem | None = None
    raw_email = clean(submission.email)
    if raw_email:
        try:
            email = normalise_email(raw_email)
        except ValueError as exc:
            email_problem = FieldProblem("email", f"{raw_email!r} is not a valid email address: {exc}")

    phone: str | None = None
    phone_problem: FieldProblem | None = None
    raw_phone = clean(submission.phone)
    if raw_phone:
        try:
            phone = normalise_phone(raw_phone, country or default_region)
        except ValueError as exc:
            phone_problem = FieldProblem("phone", f"{raw_phone!r} is not a valid phone number: {exc}")

    # A bad email or phone only sinks the lead when it leaves us no way to reach the person.
    for problem, other in ((email_problem, phone), (phone_problem, email)):
        if problem is None:
            continue
        if other is not None:
            warnings.append(FieldProblem(problem.field, problem.message + ", dropped"))
        else:
            problems.append(problem)
    if raw_email is None and raw_phone is None:
        problems.append(FieldProblem("email", "a lead needs an email address or a phone number"))
    if problems:
        return Rejected(tuple(problems))

    website = clean(submission.website)
    job_title = clean(submission.job_title)
    answers = submission.answers
    profile = LeadProfile(
        first_name=first,
        last_name=last,
        email=email,
        phone=phone,
        company=clean(submission.company),
        company_domain=company_domain(email, website),
        website=website,
        job_title=job_title,
        seniority=seniority_of(job_title).value,
        country=country,
        industry=clean(submission.industry),
        company_size=submission.company_size,
        consent=submission.consent,
        answers=QualifyingAnswers(
            budget=clean(answers.budget),
            authority=clean(answers.authority),
            need=clean(answers.need),
            timeline=clean(answers.timeline),
        ),
        custom_fields=dict(submission.custom_fields),
        is_test=submission.is_test,
    )
    occurred_at = _aware(submission.submitted_at) if submission.submitted_at else _aware(received_at)
    touch = Touch(
        channel=submission.channel,
        source_system=submission.source_system,
        source_id=submission.source_id,
        campaign=submission.campaign,
        occurred_at=occurred_at,
    )
    return Normalised(profile=profile, touch=touch, warnings=tuple(warnings))


def phone_in_country(
    result: Normalised, submission: LeadSubmission, country: str | None, default_region: str | None
) -> Normalised:
    """The result with its national phone number read in a known lead's country, when the submission names
    no country of its own (the lead's country comes before the default region)."""
    raw = clean(submission.phone)
    if raw is None or country is None or country == default_region or country_code(submission.country):
        return result
    try:
        phone = normalise_phone(raw, country)
    except ValueError:
        return result
    if phone == result.profile.phone:
        return result
    return replace(result, profile=result.profile.model_copy(update={"phone": phone}))


def received_again(
    result: NormaliseResult, submission: LeadSubmission, received_at: datetime
) -> NormaliseResult:
    """normalise(submission, received_at=received_at) from its result at another time of receipt: only a touch
    without a time of its own changes."""
    if isinstance(result, Rejected) or submission.submitted_at is not None:
        return result
    return replace(result, touch=result.touch.model_copy(update={"occurred_at": _aware(received_at)}))


def fold(text: str) -> str:
    """Lower-case and strip accents, for comparisons ("Kovács" -> "kovacs")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")
