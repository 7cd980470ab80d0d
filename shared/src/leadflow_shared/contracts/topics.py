"""Topic names: two upstream topics, and per service its events topic and its low-volume erasures topic,
each with a dead-letter topic beside it (docs/adr/0005-erasures-on-their-own-topics.md says why two)."""

from __future__ import annotations

LEADS_SUBMITTED = "leads.submitted"
LEADS_ACTIVITY = "leads.activity"
INTAKE_EVENTS = "intake.events"
QUALIFICATION_EVENTS = "qualification.events"
OPPORTUNITY_EVENTS = "opportunity.events"
NURTURE_EVENTS = "nurture.events"
# Erasure requests (intake) and each service's confirmation: rare events that every service reads, kept off
# the busy events topics so that reading them costs nothing per lead.
INTAKE_ERASURES = "intake.erasures"
QUALIFICATION_ERASURES = "qualification.erasures"
OPPORTUNITY_ERASURES = "opportunity.erasures"
NURTURE_ERASURES = "nurture.erasures"

BASE_TOPICS: tuple[str, ...] = (
    LEADS_SUBMITTED,
    LEADS_ACTIVITY,
    INTAKE_EVENTS,
    QUALIFICATION_EVENTS,
    OPPORTUNITY_EVENTS,
    NURTURE_EVENTS,
    INTAKE_ERASURES,
    QUALIFICATION_ERASURES,
    OPPORTUNITY_ERASURES,
    NURTURE_ERASURES,
)

DLQ_SUFFIX = ".dlq"

# Every topic carries personal data (profiles, emails, names in opportunity names, raw vendor payloads), and
# so does its dead-letter copy: Kafka keeps a message at most this long, erased or not.
RETENTION_MS = 7 * 24 * 3600 * 1000
# Retention deletes whole segments only: a quiet topic's segment is closed daily so that it can expire.
SEGMENT_MS = 24 * 3600 * 1000


def topic_config(name: str) -> dict[str, str]:
    """The per-topic settings every leadflow topic is created (and kept) with."""
    return {"retention.ms": str(RETENTION_MS), "segment.ms": str(SEGMENT_MS)}


def own_topics(service: str) -> tuple[str, str]:
    """The topics a service writes its own events to: its events and its erasures."""
    return (f"{service}.events", f"{service}.erasures")


def dlq(topic: str) -> str:
    """Name the dead-letter topic beside a topic."""
    return topic + DLQ_SUFFIX


def all_topics(prefix: str = "") -> list[str]:
    """Every topic the system uses, dead-letter topics included, under an optional prefix."""
    names = [*BASE_TOPICS, *(dlq(t) for t in BASE_TOPICS)]
    return [prefix + name for name in names]
