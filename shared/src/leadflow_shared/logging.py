"""Structured JSON logs; the correlation id travels in context variables."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

import orjson
import structlog


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


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send JSON lines to stdout, standard-library logs included."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.dict_tracebacks,
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
