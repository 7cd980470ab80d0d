from datetime import UTC, datetime, timedelta

import pytest

from leadflow_intake.domain.activity import Activity, ActivityRejected, read_activity
from leadflow_shared.contracts.lead import ActivityType, TriggerKind

NOW = datetime(2025, 3, 4, 10, 15, tzinfo=UTC)


def read(kind, **kwargs):
    return read_activity(kind, occurred_at=kwargs.pop("occurred_at", NOW), now=NOW, **kwargs)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("email_opened", ActivityType.EMAIL_OPENED),
        ("open", ActivityType.EMAIL_OPENED),
        ("Email Click", ActivityType.EMAIL_CLICKED),
        ("webinar.participant_joined", ActivityType.WEBINAR_ATTENDED),
        ("Demo Request", ActivityType.DEMO_REQUESTED),
        ("form-submit", ActivityType.FORM_SUBMITTED),
    ],
)
def test_upstream_activity_names_map_to_the_canonical_type(name, expected):
    result = read(name)
    assert isinstance(result, Activity)
    assert result.activity_type is expected


def test_a_visit_to_the_pricing_page_is_a_pricing_page_visit():
    result = read("page_view", details={"url": "https://acme.example/pricing?plan=team"})
    assert isinstance(result, Activity)
    assert result.activity_type is ActivityType.PRICING_PAGE_VISITED


def test_a_funding_round_is_a_trigger_with_its_kind():
    result = read("trigger", trigger="funding", details={"amount": "Series B, 40M EUR"})
    assert isinstance(result, Activity)
    assert (result.activity_type, result.trigger) == (ActivityType.TRIGGER, TriggerKind.FUNDING_ROUND)


def test_a_trigger_kind_alone_is_a_trigger_activity():
    result = read("", trigger="job_change")
    assert isinstance(result, Activity)
    assert (result.activity_type, result.trigger) == (ActivityType.TRIGGER, TriggerKind.NEW_ROLE)


@pytest.mark.parametrize(
    ("kind", "kwargs", "field"),
    [
        ("carrier_pigeon", {}, "activity_type"),
        ("trigger", {}, "trigger"),
        ("trigger", {"trigger": "lottery_win"}, "trigger"),
        ("email_opened", {"trigger": "funding_round"}, "trigger"),
        ("email_opened", {"occurred_at": datetime(2025, 3, 4, 10, 15)}, "occurred_at"),
        ("email_opened", {"occurred_at": NOW + timedelta(days=1)}, "occurred_at"),
        ("page_visited", {"details": {"url": 42}}, "details.url"),
    ],
)
def test_bad_activity_input_is_rejected_naming_the_field(kind, kwargs, field):
    result = read(kind, **kwargs)
    assert isinstance(result, ActivityRejected)
    assert field in [p.field for p in result.problems]
