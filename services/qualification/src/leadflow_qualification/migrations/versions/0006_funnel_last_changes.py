"""Per day of creation, the leads by category and hour of their last change, for the stale counts.

The funnel counts the window's leads of a category changed after its staleness limit. Counted from the facts,
that reads every lead changed since the limit: after a burst of new leads, hundreds of thousands per request.
`funnel_last_changes` holds, per whole day of creation (gkind 0 only: no grouping), how many leads of each
category last changed in each hour; the reader sums the hours after the limit's hour and counts only the leads
of the limit's own hour from the facts (besides the days it counts from the facts anyway). The cells job keeps
it with the other day tables: built with a day, forgotten with it. The days already built get theirs here.
The index on (category, last_at) now covers the window and grouping columns: grouped reports still count from
the facts, and read only the index. It is built concurrently, after the migration's transaction, so that the
writers of funnel_leads never wait for it.

Revision ID: 0006
"""

from alembic import op

from leadflow_shared.migrations import execute_script

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE funnel_last_changes (
    day int NOT NULL,
    category text NOT NULL,
    hour int NOT NULL,
    n bigint NOT NULL
);
CREATE INDEX funnel_last_changes_hour ON funnel_last_changes (category, hour, day) INCLUDE (n);
"""

# The cells job's lock (adapters/kpis.py TRY_LOCK): its rounds skip while the functions change and the days
# already built get their rows, so no day is built by the old function after the fill has read the built days.
LOCK = "SELECT pg_advisory_xact_lock(hashtext('funnel cells of ' || current_schema()))"

# Built beside the writers (CONCURRENTLY, outside the migration's transaction), so they never wait for it.
RECENT_INDEX = (
    "DROP INDEX CONCURRENTLY IF EXISTS funnel_leads_recent",  # left invalid by an interrupted earlier try
    "CREATE INDEX CONCURRENTLY funnel_leads_recent ON funnel_leads (category, last_at)"
    " INCLUDE (created_at, source, campaign, owner) WHERE NOT merged",
    "DROP INDEX CONCURRENTLY IF EXISTS funnel_leads_last",
)
LAST_INDEX = (
    "DROP INDEX CONCURRENTLY IF EXISTS funnel_leads_last",
    "CREATE INDEX CONCURRENTLY funnel_leads_last ON funnel_leads (category, last_at) WHERE NOT merged",
    "DROP INDEX CONCURRENTLY IF EXISTS funnel_leads_recent",
)

# The hours since 1970-01-01 UTC: hour h is [funnel_hour_start(h), funnel_hour_start(h + 1)).
HOURS = (
    """
    CREATE FUNCTION funnel_hour(at timestamptz) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN floor(extract(epoch FROM (at AT TIME ZONE 'UTC') - TIMESTAMP '1970-01-01') / 3600)::int
    """,
    """
    CREATE FUNCTION funnel_hour_start(hour int) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (TIMESTAMP '1970-01-01' + make_interval(hours => hour)) AT TIME ZONE 'UTC'
    """,
    """
    CREATE FUNCTION funnel_last_changes_of(days int[])
    RETURNS TABLE (day int, category text, hour int, n bigint) LANGUAGE sql STABLE AS $$
    SELECT funnel_day(f.created_at), f.category, funnel_hour(f.last_at), count(*)
    FROM unnest(days) d
    JOIN funnel_leads f ON f.created_at >= funnel_day_start(d) AND f.created_at < funnel_day_start(d + 1)
         AND NOT f.merged
    GROUP BY 1, 2, 3
    $$
    """,
)

# Migration 0005's functions, each with the new table's part.
BUILD = """
CREATE OR REPLACE FUNCTION funnel_build_days(days int[]) RETURNS void LANGUAGE sql AS $$
INSERT INTO funnel_cells
SELECT 0, i.day, i.gkind, i.grp, i.item, i.key, i.category, i.bucket, i.n, i.ord
FROM funnel_items(ARRAY(SELECT funnel_day_start(d) FROM unnest(days) d),
                  ARRAY(SELECT funnel_day_start(d + 1) FROM unnest(days) d), '{0,1,2,3}') i;
INSERT INTO funnel_day_spans
SELECT * FROM funnel_values(ARRAY(SELECT funnel_day_start(d) FROM unnest(days) d),
                            ARRAY(SELECT funnel_day_start(d + 1) FROM unnest(days) d));
INSERT INTO funnel_last_changes SELECT * FROM funnel_last_changes_of(days);
INSERT INTO funnel_nodes SELECT 0, d FROM unnest(days) d;
$$
"""
FORGET = """
CREATE OR REPLACE FUNCTION funnel_forget_days(days int[]) RETURNS void LANGUAGE sql AS $$
DELETE FROM funnel_cells c
USING (SELECT DISTINCT l::smallint AS lvl, d >> l AS node FROM unnest(days) d, generate_series(0, 10) l) x
WHERE c.lvl = x.lvl AND c.node = x.node;
DELETE FROM funnel_nodes c
USING (SELECT DISTINCT l::smallint AS lvl, d >> l AS node FROM unnest(days) d, generate_series(0, 10) l) x
WHERE c.lvl = x.lvl AND c.node = x.node;
DELETE FROM funnel_day_spans WHERE day = ANY(days);
DELETE FROM funnel_last_changes WHERE day = ANY(days);
$$
"""
FILL = """
INSERT INTO funnel_last_changes
SELECT * FROM funnel_last_changes_of(ARRAY(SELECT node FROM funnel_nodes WHERE lvl = 0))
"""

# Migration 0005's functions as they were.
BUILD_BEFORE = BUILD.replace(
    "INSERT INTO funnel_last_changes SELECT * FROM funnel_last_changes_of(days);\n", ""
)
FORGET_BEFORE = FORGET.replace("DELETE FROM funnel_last_changes WHERE day = ANY(days);\n", "")


def upgrade() -> None:
    op.execute(LOCK)
    execute_script(TABLES)
    for statement in (*HOURS, BUILD, FORGET, FILL):
        op.execute(statement)
    with op.get_context().autocommit_block():
        for statement in RECENT_INDEX:
            op.execute(statement)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for statement in LAST_INDEX:
            op.execute(statement)
    op.execute(LOCK)
    op.execute(BUILD_BEFORE)
    op.execute(FORGET_BEFORE)
    op.execute("DROP FUNCTION funnel_last_changes_of, funnel_hour_start, funnel_hour")
    op.execute("DROP TABLE funnel_last_changes")
