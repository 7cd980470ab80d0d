"""Topic names: two upstream topics and one topic per service, each with a dead-letter topic beside it."""

from __future__ import annotations

LEADS_SUBMITTED = "leads.submitted"
LEADS_ACTIVITY = "leads.activity"
INTAKE_EVENTS = "intake.events"
QUALIFICATION_EVENTS = "qualification.events"
OPPORTUNITY_EVENTS = "opportunity.events"
NURTURE_EVENTS = "nurture.events"

BASE_TOPICS: tuple[str, ...] = (
    LEADS_SUBMITTED,
    LEADS_ACTIVITY,
    INTAKE_EVENTS,
    QUALIFICATION_EVENTS,
    OPPORTUNITY_EVENTS,
    NURTURE_EVENTS,
)

DLQ_SUFFIX = ".dlq"


def dlq(topic: str) -> str:
    """Name the dead-letter topic beside a topic."""
    return topic + DLQ_SUFFIX


def all_topics(prefix: str = "") -> list[str]:
    """Every topic the system uses, dead-letter topics included, under an optional prefix."""
    names = [*BASE_TOPICS, *(dlq(t) for t in BASE_TOPICS)]
    return [prefix + name for name in names]
