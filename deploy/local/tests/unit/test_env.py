"""The environment contract: generated once, secret, reused."""

from __future__ import annotations

import json
import stat

from leadflow_devstack.env import (
    INTAKE_WEBHOOK_SECRETS,
    SERVICES,
    api_token,
    ensure_env,
    export_lines,
    generate_env,
    load_env,
    parse_env,
    password_from_url,
    render_env,
    role_passwords,
)
from leadflow_devstack.paths import StackPaths


def test_a_fresh_contract_names_every_service_with_its_own_port_and_database_role():
    env = generate_env()

    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
    assert env["LEADFLOW_TOPIC_PREFIX"] == ""
    assert env["LEADFLOW_TOPIC_PARTITIONS"] == "6"
    assert env["LEADFLOW_ADMIN_DATABASE_URL"].startswith("postgresql://leadflow:")
    assert env["LEADFLOW_ADMIN_DATABASE_URL"].endswith("@127.0.0.1:5432/postgres?sslmode=disable")
    assert env["QUALIFICATION_DATABASE_URL"].startswith("postgresql://qualification:")
    assert env["NURTURE_DATABASE_URL"].endswith("@127.0.0.1:5432/leadflow?sslmode=disable")
    assert [env[f"{s.prefix}_HTTP_PORT"] for s in SERVICES] == ["8001", "8002", "8003", "8004"]
    assert {env[f"{s.prefix}_HTTP_HOST"] for s in SERVICES} == {"127.0.0.1"}


def test_the_api_token_grants_read_write_and_admin():
    env = generate_env(token="tok-acme-pipeline")

    assert json.loads(env["LEADFLOW_API_TOKENS"]) == {"tok-acme-pipeline": ["read", "write", "admin"]}
    assert api_token(env) == "tok-acme-pipeline"


def test_every_role_gets_a_different_random_password():
    env = generate_env()
    passwords = [password_from_url(env["LEADFLOW_ADMIN_DATABASE_URL"]), *role_passwords(env).values()]

    assert len(set(passwords)) == 5
    assert all(len(p) >= 24 for p in passwords)


def test_the_file_round_trips_json_values_untouched():
    env = generate_env(token="tok-northwind")

    assert parse_env(render_env(env)) == env


def test_export_lines_quote_the_json_token_map_for_a_shell():
    lines = export_lines({"LEADFLOW_API_TOKENS": '{"t":["read"]}', "LEADFLOW_TOPIC_PREFIX": ""})

    assert lines == "export LEADFLOW_API_TOKENS='{\"t\":[\"read\"]}'\nexport LEADFLOW_TOPIC_PREFIX=''\n"


def test_the_contract_is_written_once_with_owner_only_permissions_and_reused(tmp_path):
    paths = StackPaths(tmp_path)

    first = ensure_env(paths)
    second = ensure_env(paths)

    assert first == second == load_env(paths)
    assert stat.S_IMODE(paths.env_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.token_file.stat().st_mode) == 0o600
    assert paths.token_file.read_text().strip() == api_token(first)


def test_a_contract_missing_a_key_keeps_its_passwords_and_gains_the_key(tmp_path):
    paths = StackPaths(tmp_path)
    original = ensure_env(paths)
    trimmed = {k: v for k, v in original.items() if k != "NURTURE_HTTP_PORT"}
    paths.env_file.write_text(render_env(trimmed))

    repaired = ensure_env(paths)

    assert repaired == original


def test_a_fresh_contract_enables_every_intake_webhook_source_with_its_own_random_secret():
    env = generate_env()
    secrets = [env[key] for key in INTAKE_WEBHOOK_SECRETS]

    assert len(set(secrets)) == len(INTAKE_WEBHOOK_SECRETS) == 9
    assert all(len(s) >= 24 for s in secrets)


def test_a_contract_from_before_webhook_secrets_gains_them_and_keeps_the_rest(tmp_path):
    paths = StackPaths(tmp_path)
    original = ensure_env(paths)
    older = {k: v for k, v in original.items() if k not in INTAKE_WEBHOOK_SECRETS}
    paths.env_file.write_text(render_env(older))

    upgraded = ensure_env(paths)

    assert {k: upgraded[k] for k in older} == older
    assert all(upgraded[key] for key in INTAKE_WEBHOOK_SECRETS)
    assert ensure_env(paths) == upgraded
