"""Reading free-text form answers: keywords, budget amounts and timelines."""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

_CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY"}
_CURRENCY_CODES = ("EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN")
_MULTIPLIERS = {
    "k": Decimal(1_000),
    "tsd": Decimal(1_000),
    "thousand": Decimal(1_000),
    "m": Decimal(1_000_000),
    "mm": Decimal(1_000_000),
    "mio": Decimal(1_000_000),
    "million": Decimal(1_000_000),
    "millions": Decimal(1_000_000),
}
_AMOUNT = re.compile(
    r"(?P<num>\d+(?:[.,\s']\d{3})*(?:[.,]\d+)?)\s*(?P<mult>k|tsd|thousand|mm|mio|millions|million|m)?(?![a-z])",
)
_GROUPS = re.compile(r"[.,]")
_CODES = tuple((code, re.compile(rf"\b{code}\b")) for code in _CURRENCY_CODES)
_EURO = re.compile(r"\b(euro|euros)\b")
_DOLLAR = re.compile(r"\b(dollar|dollars|usd)\b")
_THOUSANDS_RANGE = re.compile(r"\d\s*-\s*\d+\s*(k|tsd|thousand)")
_MILLIONS_RANGE = re.compile(r"\d\s*-\s*\d+\s*(m|mm|mio|million)")
_UPPER_BOUND = re.compile(r"\b(under|below|less than|up to|upto|max(imum)?|at most|no more than)\b|<")
_LOWER_BOUND = re.compile(r"\b(over|above|more than|at least|min(imum)?|from)\b|>|\d\s*[kmKM]?\s*\+")


def normalise(text: str) -> str:
    """Lower case, single spaces, no surrounding blanks."""
    return " ".join(text.lower().split())


def matches_any(text: str, keywords: Iterable[str]) -> str | None:
    """The first keyword found in text as whole words, or None."""
    words = keywords if isinstance(keywords, tuple) else tuple(keywords)
    return keyword_list(words).first_in(normalise(text))


class KeywordList:
    """Keywords compiled once for whole-word search in normalised text."""

    __slots__ = ("_any", "_each")

    def __init__(self, keywords: tuple[str, ...]) -> None:
        self._each = tuple((keyword, _whole_words(keyword)) for keyword in keywords)
        # Most answers hold none of the keywords: one search over all of them says so at once.
        self._any = re.compile("|".join(pattern.pattern for _, pattern in self._each)) if keywords else None

    def first_in(self, clean: str) -> str | None:
        """The first keyword, in list order, found as whole words in `clean` (already normalised), or None."""
        if self._any is None or self._any.search(clean) is None:
            return None
        return next(keyword for keyword, pattern in self._each if pattern.search(clean))


@functools.lru_cache(maxsize=256)
def keyword_list(keywords: tuple[str, ...]) -> KeywordList:
    """The keywords compiled for search; criteria keep the same few lists for every lead."""
    return KeywordList(keywords)


@functools.lru_cache(maxsize=4096)
def _whole_words(keyword: str) -> re.Pattern[str]:
    # Criteria keywords are few and reused for every lead: compile each once.
    return re.compile(rf"(?<![a-z0-9]){re.escape(normalise(keyword))}(?![a-z0-9])")


@dataclass(frozen=True, slots=True)
class BudgetRange:
    """A budget as a range: low (None: unknown floor) to high (None: no ceiling), in `currency` if named."""

    low: Decimal | None
    high: Decimal | None
    currency: str | None

    def describe(self) -> str:
        """Human-readable, e.g. `50000 EUR`, `up to 10000`, `20000+ USD`."""
        unit = f" {self.currency}" if self.currency else ""
        if self.low is not None and self.high is not None and self.low == self.high:
            return f"{self.low:f}{unit}"
        if self.low is not None and self.high is not None and self.low > 0:
            return f"{self.low:f}-{self.high:f}{unit}"
        if self.high is not None:
            return f"up to {self.high:f}{unit}"
        return f"{self.low or 0:f}+{unit}"

    def converted(self, rate: Decimal, currency: str) -> BudgetRange:
        """The same range in another currency at `rate` units of it per unit of ours."""
        return BudgetRange(
            low=None if self.low is None else self.low * rate,
            high=None if self.high is None else self.high * rate,
            currency=currency,
        )


def _parse_number(raw: str) -> Decimal | None:
    compact = raw.replace(" ", "").replace("'", "")
    groups = _GROUPS.split(compact)
    if len(groups) > 1 and all(len(g) == 3 for g in groups[1:]):
        compact = "".join(groups)  # "50,000" and "50.000" are both fifty thousand
    else:
        compact = compact.replace(",", ".")
    try:
        return Decimal(compact)
    except InvalidOperation:
        return None


def _currency(text: str) -> str | None:
    for symbol, code in _CURRENCY_SYMBOLS.items():
        if symbol in text:
            return code
    upper = text.upper()
    for code, pattern in _CODES:
        if pattern.search(upper):
            return code
    if _EURO.search(text):
        return "EUR"
    if _DOLLAR.search(text):
        return "USD"
    return None


def parse_budget(text: str) -> BudgetRange | None:
    """A budget range from answers such as `€50k`, `50,000 USD`, `under 10k`, `20-30k`; None if none."""
    clean = normalise(text)
    amounts: list[Decimal] = []
    for match in _AMOUNT.finditer(clean):
        number = _parse_number(match.group("num"))
        if number is None:
            continue
        mult = match.group("mult")
        amounts.append(number * _MULTIPLIERS[mult] if mult else number)
    if not amounts:
        return None
    currency = _currency(text.strip()) or _currency(clean)
    if len(amounts) >= 2:
        low, high = sorted(amounts[:2])
        if low < Decimal(1_000) <= high and _THOUSANDS_RANGE.search(clean):
            low *= Decimal(1_000)  # "20-30k" means 20k to 30k
        elif low < Decimal(1_000) and _MILLIONS_RANGE.search(clean):
            low *= Decimal(1_000_000)
        return BudgetRange(low=low, high=high, currency=currency)
    amount = amounts[0]
    if _UPPER_BOUND.search(clean):
        return BudgetRange(low=Decimal(0), high=amount, currency=currency)
    if _LOWER_BOUND.search(clean):
        return BudgetRange(low=amount, high=None, currency=currency)
    return BudgetRange(low=amount, high=amount, currency=currency)


_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "quarter": 91, "year": 365}
_WORD_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "nine": 9,
    "twelve": 12,
    "couple of": 2,
    "few": 3,
}
_SPAN = re.compile(
    r"(?:(?P<a>\d+)\s*(?:-|to|\u2013)\s*)?"
    r"(?P<n>\d+|an?|one|two|three|four|five|six|nine|twelve|couple of|few)\s*"
    r"(?P<unit>day|week|month|quarter|year)s?\b"
)
_PERIOD = re.compile(r"\b(this|current|next)\s+(week|month|quarter|year)\b")
_NOW = re.compile(r"\b(asap|immediately|right away|right now|urgent(ly)?|now|today)\b")


def _end_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def parse_timeline_days(text: str, now: datetime) -> int | None:
    """Days from now to the latest moment the answer allows (`within 3 months` is 90); None if unreadable."""
    clean = normalise(text)
    today = now.date()
    if _NOW.search(clean):
        return 0
    period = _PERIOD.search(clean)
    if period:
        which, unit = period.groups()
        shift = 1 if which == "next" else 0
        if unit == "week":
            end = date.fromordinal(today.toordinal() + (6 - today.weekday()) + 7 * shift)
        elif unit == "month":
            end = _end_of_month(_add_months(today.replace(day=1), shift))
        elif unit == "quarter":
            first_of_quarter = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
            end = _end_of_month(_add_months(first_of_quarter, 3 * shift + 2))
        else:
            end = date(today.year + shift, 12, 31)
        return (end - today).days
    span = _SPAN.search(clean)
    if span:
        raw = span.group("n")
        count = int(raw) if raw.isdigit() else _WORD_NUMBERS[raw]
        return count * _UNIT_DAYS[span.group("unit")]
    return None
