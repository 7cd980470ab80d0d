"""The web console's server: the services' CORS origins it asks for, its page policy, its command line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from leadflow_devstack import console
from leadflow_devstack.procs import StackError

ORIGINS = ["http://127.0.0.1:8080", "http://localhost:8080"]


def test_every_service_is_given_the_consoles_origins_by_loopback_address_and_by_name():
    env = console.cors_env(console.origins())

    assert console.origins() == ORIGINS
    assert env == {
        f"{name}_CORS_ORIGINS": ",".join(ORIGINS)
        for name in ("INTAKE", "QUALIFICATION", "OPPORTUNITY", "NURTURE")
    }


def test_origins_already_configured_for_one_service_or_for_all_are_kept():
    mine = console.cors_env(ORIGINS, {"OPPORTUNITY_CORS_ORIGINS": "https://crm.example.com"})
    assert mine["OPPORTUNITY_CORS_ORIGINS"] == "https://crm.example.com"
    assert mine["INTAKE_CORS_ORIGINS"] == ",".join(ORIGINS)

    assert console.cors_env(ORIGINS, {"LEADFLOW_CORS_ORIGINS": "https://crm.example.com"}) == {}


def test_the_page_may_run_only_its_own_scripts_and_call_only_its_server_and_the_service_apis():
    policy = console.content_security_policy(
        {"intake": "http://127.0.0.1:8001", "nurture": "http://127.0.0.1:8004"}
    )

    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy
    assert "connect-src 'self' http://127.0.0.1:8001 http://127.0.0.1:8004;" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_the_server_command_names_the_folder_the_port_and_each_service_api():
    command = console.command(Path("/srv/console"), 8080, {"intake": "http://127.0.0.1:8001"})

    assert command[:3] == [sys.executable, "-m", "leadflow_devstack.console"]
    assert command[3:] == [
        "--root", "/srv/console", "--host", "127.0.0.1", "--port", "8080",
        "--api", "intake=http://127.0.0.1:8001",
    ]  # fmt: skip


def test_a_console_without_its_npm_packages_says_to_run_make_install(tmp_path: Path):
    with pytest.raises(StackError, match="make install"):
        console.check_installed(tmp_path)
