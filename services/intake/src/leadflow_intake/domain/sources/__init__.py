"""The lead sources intake understands: each module here declares one (its SPEC), and the registry is them."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from typing import Any

from .common import ConsentChange, Ignored, PayloadError, SourceResult
from .spec import NamedLead, PayloadShape, Setting, Source


def _declared() -> dict[str, Source]:
    """Every module of this package that declares a SPEC, by source name: a new module is a new source."""
    found: dict[str, Source] = {}
    for module in pkgutil.iter_modules(__path__):
        spec = getattr(importlib.import_module(f"{__name__}.{module.name}"), "SPEC", None)
        if isinstance(spec, Source):
            if spec.name in found:
                raise ValueError(f"two modules declare the lead source {spec.name!r}")
            found[spec.name] = spec
    return dict(sorted(found.items()))


SOURCES: dict[str, Source] = _declared()


def source_settings() -> tuple[Setting, ...]:
    """Every setting the sources declare, secrets first, each once."""
    found: dict[str, Setting] = {}
    for spec in SOURCES.values():
        found[spec.secret.name] = spec.secret
    for spec in SOURCES.values():
        for setting in spec.settings:
            if found.setdefault(setting.name, setting) != setting:
                raise ValueError(f"the setting {setting.name!r} is declared twice, differently")
    return tuple(found.values())


def _guarded(source: str, read: Callable[..., SourceResult], *args: Any) -> SourceResult:
    try:
        return read(*args)
    except PayloadError:
        raise
    except (TypeError, AttributeError, ValueError) as exc:
        # Vendor payloads are untrusted: any shape surprise is a bad payload, not a crash.
        raise PayloadError(f"{source} payload could not be read: {exc}") from exc


def parse_payload(source: str, payload: Mapping[str, Any]) -> SourceResult:
    """Parse a payload of a named source; raises PayloadError for an unknown source or a bad payload."""
    spec = SOURCES.get(source)
    if spec is None:
        raise PayloadError(f"unknown lead source {source!r}; known: {', '.join(SOURCES)}")
    return _guarded(source, spec.parse, payload)


def read_fetched(source: str, lead: NamedLead, answer: Any, follow_up: Any) -> SourceResult:
    """Read a lead from what its vendor answered; raises PayloadError when the answer is not a lead."""
    return _guarded(source, lead.read, answer, follow_up)


def source_key(name: str) -> str:
    """The internal name of a source as URLs and upstream events spell it ("google-ads" -> "google_ads")."""
    return name.strip().lower().replace("-", "_")


__all__ = [
    "SOURCES",
    "ConsentChange",
    "Ignored",
    "NamedLead",
    "PayloadError",
    "PayloadShape",
    "Setting",
    "Source",
    "SourceResult",
    "parse_payload",
    "read_fetched",
    "source_key",
]
