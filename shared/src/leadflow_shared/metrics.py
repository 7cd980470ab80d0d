"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "leadflow_events_consumed_total", "Events handled by a consumer", ["service", "consumer", "type"]
)
EVENTS_SKIPPED = Counter(
    "leadflow_events_duplicate_total",
    "Events skipped because the inbox had seen them",
    ["service", "consumer"],
)
EVENTS_IGNORED = Counter(
    "leadflow_events_ignored_total", "Events of a type the consumer does not handle", ["service", "consumer"]
)
DEAD_LETTERS = Counter(
    "leadflow_dead_letters_total", "Messages sent to a dead-letter topic", ["service", "consumer", "topic"]
)
EVENTS_REFUSED = Counter(
    "leadflow_events_refused_total",
    "Events dead-lettered or quarantined, by why: malformed, unknown_type, unknown_lead, rejected, failed",
    ["service", "reason"],
)
EVENTS_PARKED = Counter(
    "leadflow_events_parked_total",
    "Events kept aside until what they need arrives (an engagement before its lead's capture)",
    ["service", "reason"],
)
EVENTS_PUBLISHED = Counter("leadflow_events_published_total", "Outbox rows published to Kafka", ["service"])
RELAY_FAILURES = Counter("leadflow_outbox_relay_failures_total", "Failed outbox relay rounds", ["service"])
OUTBOX_PARKED = Counter(
    "leadflow_outbox_parked_total",
    "Outbox rows parked: too_large, invalid, or held behind a parked row of their key",
    ["service", "reason"],
)
OUTBOX_PARKED_ROWS = Gauge("leadflow_outbox_parked_rows", "Outbox rows parked now", ["service"])
OUTBOX_OLDEST_WAITING = Gauge(
    "leadflow_outbox_oldest_unpublished_seconds",
    "Age of the oldest outbox row waiting to be published (parked rows left out); 0 when none waits",
    ["service"],
)
MESSAGE_LIMIT = Gauge(
    "leadflow_kafka_message_limit_bytes", "The largest message the service writes to Kafka", ["service"]
)
CONSUMER_RETRIES = Counter(
    "leadflow_consumer_retries_total", "Batches retried after a transient failure", ["service", "consumer"]
)
CONSUMER_REBUILDS = Counter(
    "leadflow_consumer_rebuilds_total",
    "Kafka consumers replaced because they could no longer consume (their group coordination ended)",
    ["service", "consumer"],
)
BATCH_SECONDS = Histogram(
    "leadflow_consumer_batch_seconds", "Time to handle one partition batch", ["service", "consumer"]
)
REQUESTS_REFUSED = Counter(
    "leadflow_http_requests_refused_total",
    "Requests refused at the entrance before any route ran (too_large, content_type, json_bounds)",
    ["service", "reason"],
)
