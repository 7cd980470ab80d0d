"""Typed settings: prefixed, with shared fallbacks, failing fast with a clear message."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic_settings import SettingsConfigDict

from leadflow_shared.settings import Scope, ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "demo"


def test_shared_variables_fill_in_what_the_service_prefix_does_not_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://demo:pw@127.0.0.1/leadflow")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092")
    monkeypatch.setenv("LEADFLOW_API_TOKENS", '{"a-long-enough-token-1234": ["read"]}')
    settings = DemoSettings.load()
    assert settings.kafka_bootstrap_servers == "kafka-1:9092"
    assert settings.api_tokens == {"a-long-enough-token-1234": [Scope.READ]}
    assert settings.db_schema == "demo"


def test_a_prefixed_variable_wins_over_the_shared_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://demo:pw@127.0.0.1/leadflow")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "shared:9092")
    monkeypatch.setenv("DEMO_KAFKA_BOOTSTRAP_SERVERS", "own:9092")
    assert DemoSettings.load().kafka_bootstrap_servers == "own:9092"


def test_a_missing_database_url_stops_the_service_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DEMO_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit) as stopped:
        DemoSettings.load_or_exit()
    assert stopped.value.code == 2
    assert "DEMO_DATABASE_URL" in capsys.readouterr().err


def test_short_api_tokens_are_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://demo:pw@127.0.0.1/leadflow")
    monkeypatch.setenv("DEMO_API_TOKENS", '{"short": ["admin"]}')
    with pytest.raises(SystemExit):
        DemoSettings.load_or_exit()
    assert "at least 16 characters" in capsys.readouterr().err


def test_a_non_postgres_database_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "mysql://demo@127.0.0.1/leadflow")
    with pytest.raises(ValueError, match="postgresql"):
        DemoSettings.load()


def test_the_collector_thresholds_default_above_pythons_and_are_read_as_a_json_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://demo:pw@127.0.0.1/leadflow")
    assert DemoSettings.load().gc_threshold == (50_000, 20, 20)
    monkeypatch.setenv("DEMO_GC_THRESHOLD", "[700, 10, 10]")
    assert DemoSettings.load().gc_threshold == (700, 10, 10)


@pytest.mark.parametrize("value", ["[0, 10, 10]", "[50000, 0, 10]", "[50000, 10]", "[100000000, 10, 10]"])
def test_collector_thresholds_that_would_stop_or_break_it_are_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://demo:pw@127.0.0.1/leadflow")
    monkeypatch.setenv("DEMO_GC_THRESHOLD", value)
    with pytest.raises(ValueError, match="gc_threshold"):
        DemoSettings.load()
