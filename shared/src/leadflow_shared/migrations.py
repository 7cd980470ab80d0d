"""Alembic for each service: its version table lives inside the service's own schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(script_location: Path, database_url: str, schema: str) -> Config:
    """An Alembic config pointing at a service's migrations and database."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["database_url"] = database_url
    config.attributes["schema"] = schema
    return config


def upgrade(script_location: Path, database_url: str, schema: str, revision: str = "head") -> None:
    """Migrate a service's schema to a revision (head by default)."""
    command.upgrade(alembic_config(script_location, database_url, schema), revision)


def run_env() -> None:
    """The body of every service's migrations/env.py (online mode, asyncpg)."""
    config = context.config
    schema: str = config.attributes["schema"]
    dsn: str = config.attributes["database_url"]

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            version_table_schema=schema,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        # asyncpg reads the DSN itself (sslmode and all), exactly as the service's pool does.
        engine = create_async_engine(
            "postgresql+asyncpg://",
            poolclass=pool.NullPool,
            async_creator=lambda: asyncpg.connect(dsn, server_settings={"search_path": schema}),
        )
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())


def execute_script(sql: str) -> None:
    """Run a DDL script statement by statement (the asyncpg driver prepares one statement at a time)."""
    from alembic import op

    for statement in sql.split(";\n"):
        if statement.strip():
            op.execute(statement)
