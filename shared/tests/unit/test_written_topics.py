"""Each service's producer is sized for every topic it writes: its events, its erasures, its dead letters."""

from __future__ import annotations

import importlib

import pytest
from pydantic import SecretStr

from leadflow_shared.contracts import topics
from leadflow_shared.contracts.events import EVENT_MODELS
from leadflow_shared.settings import ServiceSettings

SERVICES = ("intake", "qualification", "opportunity", "nurture")


def settings_of(service: str) -> ServiceSettings:
    """The service's settings as built without an environment."""
    module = importlib.import_module(f"leadflow_{service}.settings")
    settings_class = getattr(module, f"{service.capitalize()}Settings")
    secret = SecretStr("a-secret-long-enough-to-sign-every-unsubscribe-link")
    extra = {"unsubscribe_secret": secret} if service == "nurture" else {}
    settings: ServiceSettings = settings_class.model_construct(**extra)
    return settings


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_written_topics_hold_every_topic_its_events_go_to(service: str) -> None:
    bootstrap = importlib.import_module(f"leadflow_{service}.bootstrap")
    written = set(bootstrap.definition(settings_of(service)).written_topics())
    emitted = {model.topic for model in EVENT_MODELS if model.topic.startswith(f"{service}.")}
    assert emitted
    assert emitted <= written


def test_every_topic_a_service_writes_its_events_to_is_created() -> None:
    for service in SERVICES:
        assert set(topics.own_topics(service)) <= set(topics.all_topics())
