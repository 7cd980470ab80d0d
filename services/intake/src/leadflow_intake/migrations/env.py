"""Alembic environment of the intake schema."""

from leadflow_shared.migrations import run_env

run_env()
