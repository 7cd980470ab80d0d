"""Structured JSON logs, secrets and personal data masked; the correlation id travels in context variables."""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
import structlog
from structlog.tracebacks import ExceptionDictTransformer


def _dumps(obj: object, default: object = None) -> str:
    return orjson.dumps(obj, default=default).decode()  # type: ignore[arg-type]


class RepeatFilter(logging.Filter):
    """Lets through one record per logger, level and message template per window, counting the rest.

    A client library retrying a lost broker logs the same line many times a second; one line per window,
    with `repeated` saying how many were held back since the last one, tells the same story.
    """

    def __init__(
        self, prefixes: tuple[str, ...], window_s: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[tuple[str, int, object], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """True to emit the record (the first of its kind in the window), False to count it."""
        if not record.name.startswith(self.prefixes):
            return True
        key = (record.name, record.levelno, record.msg)
        now = self.clock()
        shown = self._seen.get(key)
        if shown is not None and now - shown[0] < self.window_s:
            self._seen[key] = (shown[0], shown[1] + 1)
            return False
        if shown is not None and shown[1]:
            record.repeated = shown[1]
        self._seen[key] = (now, 0)
        return True


MASK = "***"
# Credentials in a URL (postgresql://intake:pw@host), a bearer token, and key=value or "key": "value" pairs
# whose key names a secret, as libpq, HTTP clients and exception messages write them.
_URL_CREDENTIALS = re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)
_BEARER = re.compile(r"(?P<keep>\bbearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_SECRET_PAIR = re.compile(
    r"(?P<keep>\b(?:password|passwd|pwd|secret|token|api[_-]?key|client[_-]?secret)\w*[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"',;&)}]+",
    re.IGNORECASE,
)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# International numbers as the canonical lead stores them (E.164) or people type them (+49 151 1234-5678).
PHONE = re.compile(r"\+\d(?:[\s().-]?\d){6,14}\b")
_SECRET_KEY = re.compile(r"password|passwd|secret|token|authorization|api_?key|cookie", re.IGNORECASE)


class Redactor:
    """A structlog processor masking secrets and personal data in every value of an event, exceptions too.

    Masked: the configured secret values (tokens, passwords, vendor secrets), URL credentials, bearer
    tokens, secret-named pairs and fields, email addresses and international phone numbers. Log lead ids.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole; short values would mask noise.
        values = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)
        self._secrets = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def __call__(self, logger: object, method: str, event: Mapping[str, Any]) -> dict[str, Any]:
        """The event with every string masked."""
        return {key: self._value(key, value) for key, value in event.items()}

    def _value(self, key: object, value: object) -> Any:
        if isinstance(key, str) and _SECRET_KEY.search(key) and isinstance(value, str | bytes) and value:
            return MASK
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, Mapping):
            return {k: self._value(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._value(None, v) for v in value]
        if isinstance(value, BaseException):
            return self.mask(repr(value))
        # Numbers, ids and times carry no secret and render natively.
        return value

    def mask(self, text: str) -> str:
        """The text with every secret and personal datum replaced."""
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        text = _URL_CREDENTIALS.sub(rf"\g<keep>{MASK}@", text)
        text = _BEARER.sub(rf"\g<keep>{MASK}", text)
        text = _SECRET_PAIR.sub(rf"\g<keep>{MASK}", text)
        text = EMAIL.sub("<email>", text)
        return PHONE.sub("<phone>", text)


def secret_values(settings: object) -> list[str]:
    """Every secret a service's settings hold: secret-named values, API tokens, URL passwords."""
    found: list[str] = []
    for name, value in vars(settings).items():
        if isinstance(value, Mapping) and name == "api_tokens":
            found += [str(token) for token in value]
        elif isinstance(value, str) and value:
            if _SECRET_KEY.search(name) or name.endswith("_key"):
                found.append(value)
            credentials = re.match(r"[a-z][a-z0-9+.-]*://[^:/@\s]*:([^@\s]+)@", value, re.IGNORECASE)
            if credentials:
                found.append(credentials.group(1))
    return found


def configure_logging(service: str, level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Send JSON lines to stdout, standard-library logs included, with the secrets given masked."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # A frame's locals hold settings, DSNs, request bodies: a traceback names files, lines and functions only.
    tracebacks = structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
    redact = Redactor(secrets)
    structlog.configure(
        processors=[
            *shared,
            tracebacks,
            redact,
            structlog.processors.EventRenamer("message"),
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    # The Kafka client logs each failed reconnect: hundreds of lines a second while a broker is down.
    handler.addFilter(RepeatFilter(("aiokafka",)))
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(allow=("repeated",))],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                tracebacks,
                redact,
                structlog.processors.EventRenamer("message"),
                structlog.processors.JSONRenderer(serializer=_dumps),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    structlog.contextvars.bind_contextvars(service=service)
