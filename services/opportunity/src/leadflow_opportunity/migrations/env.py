"""Alembic environment of the opportunity schema."""

from leadflow_shared.migrations import run_env

run_env()
