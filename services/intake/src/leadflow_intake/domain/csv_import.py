"""Trade-show and list CSVs: map columns by their headers and stream one result per row."""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TextIO

from leadflow_shared.contracts.lead import Campaign, Channel, Consent, LeadSubmission, QualifyingAnswers

from .normalise import fold, parse_company_size
from .sources.common import truthy

# Header spellings (folded: lower case, accents and punctuation removed) -> canonical column.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "mail", "emailadresse", "businessemail", "workemail", "courriel"),
    "first_name": ("firstname", "vorname", "givenname", "forename", "prenom", "first"),
    "last_name": ("lastname", "nachname", "surname", "familyname", "nom", "last"),
    "full_name": ("name", "fullname", "contactname", "attendeename", "vollstandigername"),
    "company": ("company", "companyname", "firma", "unternehmen", "organization", "organisation", "org"),
    "phone": ("phone", "telefon", "phonenumber", "telephone", "tel", "mobile", "mobil", "handy", "cellphone"),
    "job_title": ("jobtitle", "title", "position", "funktion", "berufsbezeichnung", "role", "titel"),
    "country": ("country", "land", "countryregion", "pays"),
    "website": ("website", "webseite", "url", "homepage", "companywebsite"),
    "industry": ("industry", "branche", "sector"),
    "company_size": ("companysize", "employees", "numberofemployees", "mitarbeiter", "mitarbeiterzahl"),
    "consent": ("consent", "optin", "emailoptin", "marketingconsent", "einwilligung", "gdprconsent"),
    "budget": ("budget",),
    "authority": ("authority", "decisionmaker", "entscheider", "roleinpurchase", "purchasingrole"),
    "need": ("need", "bedarf", "interest", "interestedin", "productinterest", "usecase"),
    "timeline": ("timeline", "timeframe", "zeitrahmen", "purchasetimeframe", "zeitraum"),
    "scanned_at": ("scandate", "scantime", "scandatetime", "scannedat", "datum", "date", "timestamp"),
    "badge_id": ("badgeid", "badge", "registrationid", "badgenumber", "attendeeid"),
}
_ALIAS_TO_COLUMN: dict[str, str] = {
    alias: column for column, aliases in HEADER_ALIASES.items() for alias in aliases
}
_QUALIFIERS = ("budget", "authority", "need", "timeline")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)
_DATE_FORMATS_US = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y")


@dataclass(frozen=True)
class CsvLead:
    """A row that became a submission."""

    row_number: int
    submission: LeadSubmission


@dataclass(frozen=True)
class CsvRowError:
    """A row that could not become a submission, and why (row 1 is the header)."""

    row_number: int
    message: str


CsvRow = CsvLead | CsvRowError


def header_key(header: str) -> str:
    """Fold a header for lookup: "E-Mail Address" -> "emailaddress"."""
    return re.sub(r"[^a-z0-9]", "", fold(header))


def map_headers(headers: list[str], overrides: Mapping[str, str] | None = None) -> dict[int, str]:
    """Column index -> canonical column for the recognised headers; the first match of a column wins."""
    mapping: dict[int, str] = {}
    folded_overrides = {header_key(k): v for k, v in (overrides or {}).items()}
    for index, header in enumerate(headers):
        key = header_key(header)
        column = folded_overrides.get(key) or _ALIAS_TO_COLUMN.get(key)
        if column is not None and column not in mapping.values():
            mapping[index] = column
    return mapping


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV from its header line: ";", "\\t" or ","."""
    counts = {d: header_line.count(d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def parse_scan_time(raw: str, tz: tzinfo) -> datetime | None:
    """A scan time from ISO, "04.03.2025 10:15", "03/04/2025 10:15" or an Excel serial, in zone tz."""
    text = raw.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        moment = _EXCEL_EPOCH + timedelta(days=float(text))
        return moment.replace(tzinfo=tz)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS + _DATE_FORMATS_US:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    return None


def _row_to_submission(
    values: dict[str, str],
    extra: dict[str, Any],
    *,
    import_id: str,
    row_number: int,
    channel: Channel,
    campaign: Campaign,
    tz: tzinfo,
) -> CsvRow:
    if not values.get("email") and not values.get("phone"):
        return CsvRowError(row_number, "row has neither an email nor a phone")
    size_raw = values.get("company_size")
    company_size = parse_company_size(size_raw) if size_raw else None
    if size_raw and company_size is None:
        extra["company_size_raw"] = size_raw
    consent_raw = values.get("consent")
    scanned_at = parse_scan_time(values["scanned_at"], tz) if values.get("scanned_at") else None
    if values.get("scanned_at") and scanned_at is None:
        extra["scanned_at_raw"] = values["scanned_at"]
    if values.get("badge_id"):
        extra["badge_id"] = values["badge_id"]
    return CsvLead(
        row_number,
        LeadSubmission(
            first_name=values.get("first_name"),
            last_name=values.get("last_name"),
            full_name=values.get("full_name"),
            email=values.get("email"),
            phone=values.get("phone"),
            company=values.get("company"),
            website=values.get("website"),
            job_title=values.get("job_title"),
            country=values.get("country"),
            industry=values.get("industry"),
            company_size=company_size,
            consent=Consent(email=truthy(consent_raw) if consent_raw else None),
            answers=QualifyingAnswers(**{q: values[q] for q in _QUALIFIERS if values.get(q)}),
            channel=channel,
            source_system="csv",
            source_id=f"{import_id}:{row_number}",
            campaign=campaign,
            custom_fields=extra,
            submitted_at=scanned_at,
        ),
    )


def import_csv(
    stream: TextIO,
    *,
    import_id: str,
    channel: Channel = Channel.TRADE_SHOW,
    campaign: Campaign | None = None,
    header_overrides: Mapping[str, str] | None = None,
    tz: tzinfo = UTC,
) -> Iterator[CsvRow]:
    """Stream a CSV (BOM, ";" or "," and multi-line cells allowed) as one lead or row error per data row.

    Row numbers count records, header = 1, so they stay stable for source ids even with multi-line cells.
    Unrecognised columns are kept in custom_fields under their header; tz is the event's local zone.
    """
    first_line = stream.readline()
    if not first_line.strip():
        yield CsvRowError(1, "the file is empty or has no header row")
        return
    first_line = first_line.removeprefix("\ufeff")
    reader = csv.reader(itertools.chain([first_line], stream), delimiter=sniff_delimiter(first_line))
    try:
        headers = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        yield CsvRowError(1, f"unreadable header: {exc}")
        return
    mapping = map_headers(headers, header_overrides)
    if not {"email", "phone"} & set(mapping.values()):
        yield CsvRowError(1, f"no email or phone column among the headers {headers!r}")
        return
    unmapped = [(i, h) for i, h in enumerate(headers) if i not in mapping and h]
    row_number = 1
    while True:
        row_number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield CsvRowError(row_number, f"unreadable row: {exc}")
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(headers) and any(c.strip() for c in cells[len(headers) :]):
            yield CsvRowError(row_number, f"row has {len(cells)} cells but the header has {len(headers)}")
            continue
        values = {
            column: " ".join(cells[i].split()) if column != "need" else cells[i].strip()
            for i, column in mapping.items()
            if i < len(cells) and cells[i].strip()
        }
        extra: dict[str, Any] = {
            h: cells[i].strip() for i, h in unmapped if i < len(cells) and cells[i].strip()
        }
        yield _row_to_submission(
            values,
            extra,
            import_id=import_id,
            row_number=row_number,
            channel=channel,
            campaign=campaign or Campaign(),
            tz=tz,
        )
