"""Alembic environment of the qualification schema."""

from leadflow_shared.migrations import run_env

run_env()
