"""The provisioning SQL: quoting, idempotence, and the Docker init script kept in step with it."""

from __future__ import annotations

import pytest

from leadflow_devstack.cli import DOCKER_PASSWORDS
from leadflow_devstack.paths import repo_root
from leadflow_devstack.postgres import (
    cluster_statements,
    database_statements,
    quote_ident,
    quote_literal,
    render_init_sql,
    render_tuning,
    role_statements,
)


def test_a_password_with_a_quote_is_doubled_not_trusted():
    assert quote_literal("o'brien's-secret") == "'o''brien''s-secret'"


@pytest.mark.parametrize("name", ["Intake", "intake; DROP ROLE leadflow", "", "1nurture", 'qual"ification'])
def test_only_plain_lower_case_identifiers_are_accepted(name):
    with pytest.raises(ValueError, match="identifier"):
        quote_ident(name)


def test_a_role_is_created_when_missing_and_its_password_reset_otherwise():
    (statement,) = role_statements({"intake": "s3cret"})

    assert "IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'intake')" in statement
    assert "CREATE ROLE \"intake\" LOGIN PASSWORD 's3cret';" in statement
    assert "ALTER ROLE \"intake\" LOGIN PASSWORD 's3cret';" in statement


def test_each_service_gets_its_own_schema_and_public_loses_every_privilege():
    statements = database_statements("leadflow", ["intake", "nurture"])

    assert statements[:2] == [
        'REVOKE ALL ON DATABASE "leadflow" FROM PUBLIC;',
        "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
    ]
    assert 'CREATE SCHEMA IF NOT EXISTS "nurture" AUTHORIZATION "nurture";' in statements
    assert 'GRANT CONNECT ON DATABASE "leadflow" TO "intake";' in statements
    assert not any("GRANT" in s and "public" in s.lower() and "PUBLIC" not in s for s in statements)


def test_the_docker_init_script_is_the_generated_provisioning_sql():
    checked_in = (repo_root() / "deploy" / "postgres" / "init.sql").read_text()

    assert checked_in == render_init_sql("leadflow", DOCKER_PASSWORDS), (
        "regenerate it: .venv/bin/leadflow-stack init-sql > deploy/postgres/init.sql"
    )


def test_the_tuning_include_sets_each_setting_once_with_quoted_values():
    text = render_tuning({"shared_buffers": "1GB", "jit": "off"})

    assert text.splitlines()[1:] == ["shared_buffers = '1GB'", "jit = 'off'"]


def test_the_clusters_own_databases_are_closed_to_public_and_opened_to_the_admin_role_alone():
    assert cluster_statements("leadflow") == [
        "REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;",
        "REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC;",
        'GRANT CONNECT ON DATABASE postgres TO "leadflow";',
    ]
