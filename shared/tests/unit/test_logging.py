"""Repeated library log lines are held back to one per window, with a count of those held back."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from leadflow_shared.logging import RepeatFilter


def record(name: str, msg: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_the_same_line_again_within_the_window_is_held_back_and_counted_on_the_next_one_shown() -> None:
    now = [0.0]
    repeats = RepeatFilter(("aiokafka",), window_s=10.0, clock=lambda: now[0])
    assert repeats.filter(record("aiokafka.conn", "Unable connect to node %s", 1))
    for second in range(1, 10):
        now[0] = float(second)
        assert not repeats.filter(record("aiokafka.conn", "Unable connect to node %s", 2))
    now[0] = 10.5
    shown = record("aiokafka.conn", "Unable connect to node %s", 1)
    assert repeats.filter(shown)
    assert shown.repeated == 9  # type: ignore[attr-defined]


def test_other_loggers_templates_and_levels_are_not_held_back() -> None:
    repeats = RepeatFilter(("aiokafka",), clock=lambda: 0.0)
    assert repeats.filter(record("aiokafka.conn", "Unable connect to node %s", 1))
    assert repeats.filter(record("aiokafka.conn", "Unable connect to node %s", 1, level=logging.ERROR))
    assert repeats.filter(record("aiokafka.consumer", "Unable connect to node %s", 1))
    assert repeats.filter(record("aiokafka.conn", "Heartbeat failed for group %s", "g"))
    for _ in range(3):
        assert repeats.filter(record("leadflow_shared.consumer", "poll failed"))
    first_again = record("aiokafka.conn", "Unable connect to node %s", 1)
    assert not repeats.filter(first_again)


CHILD = """
import logging
from leadflow_shared.logging import configure_logging
configure_logging("intake")
repeats = logging.getLogger().handlers[0].filters[0]
now = [0.0]
repeats.clock = lambda: now[0]
repeats.window_s = 0.5
for _ in range(50):
    logging.getLogger("aiokafka.conn").error("Unable connect to node with id %s", 1)
logging.getLogger("aiokafka.conn").error("Another problem")
now[0] = 0.6  # the window has passed, on the filter's clock rather than the wall's
logging.getLogger("aiokafka.conn").error("Unable connect to node with id %s", 1)
"""


def test_a_service_logs_one_json_line_for_a_burst_of_the_same_kafka_client_error() -> None:
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["message"] for line in lines] == [
        "Unable connect to node with id 1",
        "Another problem",
        "Unable connect to node with id 1",
    ]
    assert [line.get("repeated") for line in lines] == [None, None, 49]
    assert all(line["service"] == "intake" and line["level"] == "error" for line in lines)
