"""Running totals kept by triggers, so that a report sums a few hundred rows instead of every source row.

A totals table holds sums per key over the rows of one source table. Statement triggers on the source
append one change row per key a statement touched (`folded` false): writers only insert, so concurrent
transactions never wait for one another on a total. A background job folds the change rows of each key
into one folded row every few seconds. Readers sum every row of a key, folded or not, so their answers
are exact whether or not the fold has run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from leadflow_shared.runtime import BackgroundTask, Runtime, periodic

FOLD_INTERVAL_S = 2.0


@dataclass(frozen=True)
class Column:
    """A column of a totals table and the SQL that computes it from a source row `r`."""

    name: str
    type: str
    expression: str


@dataclass(frozen=True)
class RunningTotals:
    """Sums per key over the rows of `source` that match `where`; `join` may add FROM items after `r`."""

    table: str
    source: str
    keys: Sequence[Column]
    sums: Sequence[Column]
    where: str = "true"
    join: str = ""

    def _changes(self, relation: str, sign: str) -> str:
        keys = [f"{k.expression} AS {k.name}" for k in self.keys]
        sums = [f"{sign}({s.expression}) AS {s.name}" for s in self.sums]
        return f"SELECT {', '.join(keys + sums)} FROM {relation} r {self.join} WHERE {self.where}"

    def _add(self, changes: str, folded: bool) -> str:
        keys = ", ".join(k.name for k in self.keys)
        sums = ", ".join(f"sum({s.name})" for s in self.sums)
        nonzero = " OR ".join(f"sum({s.name}) <> 0" for s in self.sums)
        columns = ", ".join([*(k.name for k in self.keys), *(s.name for s in self.sums), "folded"])
        return (
            f"INSERT INTO {self.table} ({columns}) SELECT {keys}, {sums}, {str(folded).lower()}"
            f" FROM ({changes}) c GROUP BY {keys} HAVING {nonzero}"
        )

    def ddl(self) -> list[str]:
        """The statements that create the table filled from the source, its fold function and triggers."""
        keys = ", ".join(k.name for k in self.keys)
        columns = ",\n".join(f"    {c.name} {c.type} NOT NULL" for c in [*self.keys, *self.sums])
        same_key = " AND ".join(f"t.{k.name} = c.{k.name}" for k in self.keys)
        inserted = self._changes("new_rows", "")
        deleted = self._changes("old_rows", "-")
        # Triggers read floats as text: extra_float_digits = 1 makes that the shortest exact decimal,
        # the one Python's str() gives, whatever the session set.
        return [
            f"CREATE TABLE {self.table} (\n{columns},\n    folded boolean NOT NULL DEFAULT false\n)",
            f"CREATE INDEX {self.table}_key ON {self.table} ({keys})",
            self._add(self._changes(self.source, ""), folded=True),
            f"""
            CREATE FUNCTION {self.table}_fold() RETURNS bigint LANGUAGE sql AS $fold$
                WITH changed AS (SELECT DISTINCT {keys} FROM {self.table} WHERE NOT folded),
                merged AS (DELETE FROM {self.table} t USING changed c WHERE {same_key} RETURNING t.*),
                kept AS ({self._add("SELECT * FROM merged", folded=True)})
                SELECT count(*) FROM merged
            $fold$
            """,
            f"""
            CREATE FUNCTION {self.table}_change() RETURNS trigger LANGUAGE plpgsql
            SET extra_float_digits = 1 AS $change$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    {self._add(inserted, folded=False)};
                ELSIF TG_OP = 'UPDATE' THEN
                    {self._add(f"{inserted} UNION ALL {deleted}", folded=False)};
                ELSIF TG_OP = 'DELETE' THEN
                    {self._add(deleted, folded=False)};
                ELSE
                    DELETE FROM {self.table};
                END IF;
                RETURN NULL;
            END
            $change$
            """,
            *(
                f"CREATE TRIGGER {self.table}_{event.lower()} AFTER {event} ON {self.source}"
                f" REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {self.table}_change()"
                for event, tables in (
                    ("INSERT", "NEW TABLE AS new_rows"),
                    ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                    ("DELETE", "OLD TABLE AS old_rows"),
                )
            ),
            f"CREATE TRIGGER {self.table}_truncate AFTER TRUNCATE ON {self.source}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {self.table}_change()",
        ]

    def drop(self) -> list[str]:
        """The statements that remove the table, its triggers and functions."""
        return [
            f"DROP FUNCTION {self.table}_change() CASCADE",
            f"DROP FUNCTION {self.table}_fold()",
            f"DROP TABLE {self.table}",
        ]


async def fold(conn: asyncpg.Connection, tables: Sequence[str]) -> int:
    """Fold the change rows of each table into one row per key; 0 when another process is folding."""
    async with conn.transaction():
        if not await conn.fetchval(
            "SELECT pg_try_advisory_xact_lock(hashtext('running totals of ' || current_schema()))"
        ):
            return 0
        merged = 0
        for table in tables:
            merged += await conn.fetchval(f"SELECT {table}_fold()")
        return merged


def folder(tables: Sequence[str], interval_s: float = FOLD_INTERVAL_S) -> BackgroundTask:
    """A background job that folds the totals every interval_s until the service stops."""

    async def fold_running_totals(runtime: Runtime) -> None:
        async with runtime.pool.acquire() as conn:
            await fold(conn, tables)

    return periodic(interval_s, fold_running_totals)
