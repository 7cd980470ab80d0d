"""Alembic environment of the nurture schema."""

from leadflow_shared.migrations import run_env

run_env()
