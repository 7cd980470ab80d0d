"""A touch rendered as an email: subject, plain-text body and one-click List-Unsubscribe headers."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.errors import MessageError
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from string import Template
from typing import Any

from leadflow_nurture.domain.tracks import Step

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


# Headers whose values recur from touch to touch: the body's MIME headers, a step's subject, the channel.
_RECURRING = frozenset(
    {"subject", "content-type", "content-transfer-encoding", "mime-version", "x-leadflow-channel"}
)
_KEPT_HEADERS = 4096


class _OneLineHeader(UnstructuredHeader):
    """A header written as given on one line: never folded, never encoded.

    RFC 8058 one-click unsubscribe needs `List-Unsubscribe: <https://...>` as it is; the default policy
    folds a long value and encodes a long URL as RFC 2047 words, which mailbox providers do not decode.
    """

    name: str

    def fold(self, *, policy: Any) -> str:
        """The header on one line, with the policy's line end."""
        return f"{self.name}: {self}{policy.linesep}"


# Headers whose values must reach the receiver byte for byte (ASCII by construction, see _one_line).
_ONE_LINE = ("list-unsubscribe", "list-unsubscribe-post")
# RFC 5322: a line is at most 998 characters; the header name and its separator take the rest.
MAX_UNSUBSCRIBE_HEADER = 980


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, but each header class is built once, not once per header set.

    A recurring header's parsed object is kept and handed to every message that sets the same value, as the
    From header is: header objects are immutable strings, and parsing is most of the cost of a message.
    """

    def __init__(self) -> None:
        super().__init__()
        for name in _ONE_LINE:
            self.map_to_type(name, _OneLineHeader)  # type: ignore[arg-type]
        self._classes: dict[str, type[BaseHeader]] = {}
        self._recurring: dict[tuple[str, str], BaseHeader] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if not isinstance(value, str) or name.lower() not in _RECURRING:
            return self[name](name, value)
        key = (name, value)
        header = self._recurring.get(key)
        if header is None:
            if len(self._recurring) >= _KEPT_HEADERS:
                self._recurring.clear()
            header = self._recurring[key] = self[name](name, value)
        return header


# The default policy, with the same headers: only cheaper to build (a new class per header is most of it).
_POLICY = policy.default.clone(header_factory=_HeaderClasses())
# RFC 8058: mailbox providers offer one-click unsubscribe only with this header.
_ONE_CLICK = _POLICY.header_factory("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")


class Unrenderable(ValueError):
    """A touch that cannot become an email (an address no email can carry, a broken template)."""


class UnknownContent(LookupError):
    """A step names content the library does not hold."""

    def __init__(self, content_ref: str) -> None:
        self.content_ref = content_ref
        super().__init__(f"no content {content_ref!r} in the content library")


@dataclass(frozen=True)
class Recipient:
    """Who the touch goes to."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None


@dataclass(frozen=True)
class Sender:
    """Who the touch comes from, and where unsubscribing goes (https one-click, and optionally mailto)."""

    email: str
    display_name: str
    unsubscribe_url: str
    unsubscribe_mailto: str | None = None


def render_touch(
    step: Step, recipient: Recipient, sender: Sender, library: Mapping[str, str]
) -> EmailMessage:
    """The email of one step for one lead; the library maps content refs to $placeholder templates.

    Placeholders: $first_name (or "there"), $last_name, $full_name, $company, $unsubscribe_url.
    """
    template = library.get(step.content_ref)
    if template is None:
        raise UnknownContent(step.content_ref)
    values = _values(recipient, sender)
    first_name = _clean(recipient.first_name or "")
    greeting = f"Hi {first_name}," if first_name else "Hello,"
    body = Template(template).safe_substitute(values).strip()
    footer = f"You receive this because you showed interest in {sender.display_name}.\n"
    footer += f"Unsubscribe: {sender.unsubscribe_url}"

    message = EmailMessage(policy=_POLICY)
    message["From"] = _from_header(sender.display_name, sender.email)
    message["To"] = _recipient_address(values["full_name"], recipient.email)
    message["Subject"] = _clean(Template(step.subject).safe_substitute(values))
    links = [f"<{sender.unsubscribe_url}>"]
    if sender.unsubscribe_mailto:
        links.insert(0, f"<mailto:{sender.unsubscribe_mailto}>")
    message["List-Unsubscribe"] = _one_line(", ".join(links))
    if sender.unsubscribe_url.startswith(("https://", "http://")):
        message["List-Unsubscribe-Post"] = _ONE_CLICK
    message.set_content(f"{greeting}\n\n{body}\n\n-- \n{footer}\n")
    return message


def _recipient_address(display_name: str, email: str) -> Address:
    """The lead's address; a non-ASCII one is kept as it is, for a server that offers SMTPUTF8."""
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or _CONTROL.search(email):
        raise Unrenderable(f"not an email address: {email!r}")
    try:
        if local.isascii():
            return Address(display_name=display_name, addr_spec=f"{local}@{domain}")
        # RFC 6531 allows a UTF-8 local part, which Address refuses in addr_spec but takes in parts.
        return Address(display_name=display_name, username=local, domain=domain)
    except (MessageError, ValueError) as error:
        raise Unrenderable(f"not an email address: {email!r} ({error})") from error


def _one_line(value: str) -> str:
    if not value.isascii() or not value.isprintable() or len(value) > MAX_UNSUBSCRIBE_HEADER:
        raise Unrenderable(f"List-Unsubscribe must be printable ASCII of at most {MAX_UNSUBSCRIBE_HEADER}")
    return value


@functools.lru_cache(maxsize=64)
def _from_header(display_name: str, email: str) -> BaseHeader:
    # One sender sends every touch: its parsed From header is kept (header objects are immutable strings).
    header: BaseHeader = _POLICY.header_factory(
        "From", Address(display_name=_clean(display_name), addr_spec=email)
    )
    return header


def _values(recipient: Recipient, sender: Sender) -> dict[str, str]:
    first = _clean(recipient.first_name or "")
    last = _clean(recipient.last_name or "")
    return {
        "first_name": first or "there",
        "last_name": last,
        "full_name": " ".join(part for part in (first, last) if part),
        "company": _clean(recipient.company or ""),
        "unsubscribe_url": sender.unsubscribe_url,
    }


def _clean(text: str) -> str:
    # Names come from web forms: a stray newline must never become a header of its own.
    return _CONTROL.sub(" ", text).strip()
