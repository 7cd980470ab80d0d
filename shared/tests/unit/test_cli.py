"""The shared command line: `serve --host/--port` win over the settings, as the image's CMD needs."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from pydantic_settings import SettingsConfigDict
from typer.testing import CliRunner, Result

from leadflow_shared import cli
from leadflow_shared.runtime import ServiceDefinition
from leadflow_shared.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore", frozen=True)
    service_name: ClassVar[str] = "demo"


def _serve(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[Result, list[ServiceDefinition]]:
    """Run `leadflow-demo serve ARGS` with a runtime that only records what it was asked to serve."""
    served: list[ServiceDefinition] = []
    monkeypatch.setattr(cli, "serve", served.append)
    app = cli.make_cli(
        "demo", DemoSettings, lambda s: ServiceDefinition("demo", "demo", s), Path("migrations")
    )
    return CliRunner().invoke(app, ["serve", *args]), served


def _served(monkeypatch: pytest.MonkeyPatch, *args: str) -> ServiceSettings:
    """The settings `leadflow-demo serve ARGS` would run the service with."""
    result, served = _serve(monkeypatch, *args)

    assert result.exit_code == 0, result.output
    [definition] = served
    return definition.settings


@pytest.fixture(autouse=True)
def _demo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_DATABASE_URL", "postgresql://demo:pw@127.0.0.1/leadflow")
    monkeypatch.setenv("DEMO_HTTP_HOST", "10.1.2.3")
    monkeypatch.setenv("DEMO_HTTP_PORT", "8123")


def test_serve_listens_where_the_settings_say_without_options(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _served(monkeypatch)

    assert (settings.http_host, settings.http_port) == ("10.1.2.3", 8123)


def test_the_host_option_overrides_the_settings_host(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _served(monkeypatch, "--host", "0.0.0.0")

    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 8123)
    assert settings.database_url == "postgresql://demo:pw@127.0.0.1/leadflow"


def test_the_port_option_overrides_the_settings_port(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _served(monkeypatch, "--host", "0.0.0.0", "--port", "9001")

    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 9001)


def test_a_port_out_of_range_is_refused_before_anything_is_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result, served = _serve(monkeypatch, "--port", "70000")

    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.output
    assert served == []
