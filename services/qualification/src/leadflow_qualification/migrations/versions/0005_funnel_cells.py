"""Funnel figures per UTC day of creation and per aligned run of days, rebuilt from the facts on change.

The funnel reads whole days of its window from `funnel_cells`: per node (a run of 2**lvl days starting at
a multiple of 2**lvl) and grouping, the counts, the key order (smallest first history row id) and
histograms of the durations in logarithmic buckets. `funnel_day_spans` keeps each day's durations by
bucket, so that the exact middle values are read from one bucket. Writers only note which days changed
(`funnel_dirty`, by a statement trigger on `funnel_leads`); a background job of the service rebuilds the
changed days and builds the nodes not built yet (use_cases/funnel_cells.py), a bounded amount per
transaction. The reader only reads: it counts the days changed or not built, and the partial days at the
window's edges, from the facts directly. The migration builds nothing, so that it never holds the writers
for long: until the job has caught up, the reader counts from the facts.

Revision ID: 0005
"""

from alembic import op

from leadflow_shared.migrations import execute_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MAX_LEVEL = 10
"""The longest node covers 2**10 days: domain.funnel.MAX_LEVEL."""
BUCKETS_PER_DOUBLING = 8
# Bucket b holds the durations in [THRESHOLDS[b - 1], THRESHOLDS[b]) µs (bucket 0: below 1 µs).
THRESHOLDS = sorted({round(2 ** (i / BUCKETS_PER_DOUBLING)) for i in range(56 * BUCKETS_PER_DOUBLING)})

# The steps of domain.funnel.FUNNEL_STEPS, as the columns of funnel_leads (migration 0004) give them.
STEPS = (
    ("open", "contacted"),
    ("contacted", "qualified"),
    ("qualified", "converted"),
    ("open", "qualified"),
    ("open", "converted"),
)
_ENTERED = ", ".join(f"{a}_first IS NOT NULL" for a, _ in STEPS)
_REACHED = ", ".join(f"coalesce({b}_last >= {a}_first, false)" for a, b in STEPS)

TABLES = """
CREATE TABLE funnel_dirty (day int NOT NULL, at timestamptz NOT NULL DEFAULT now());

CREATE TABLE funnel_nodes (lvl smallint NOT NULL, node int NOT NULL, PRIMARY KEY (lvl, node));

-- item 0: leads per (key = status, category), ord their first lead; 1, 2: leads that entered / reached the
-- step numbered key; 3: leads with the reason code key, ord their first lead; 4: time to first contact, per
-- bucket; 5: time in the status key, per bucket, ord (first lead, step). grp: '' for gkind 0 (no grouping),
-- else the lead's source (1), campaign (2) or owner (3), '' when it has none.
CREATE TABLE funnel_cells (
    lvl smallint NOT NULL,
    node int NOT NULL,
    gkind smallint NOT NULL,
    grp text NOT NULL,
    item smallint NOT NULL,
    key text NOT NULL,
    category text NOT NULL,
    bucket int NOT NULL,
    n bigint NOT NULL,
    ord bigint[]
);
CREATE INDEX funnel_cells_node ON funnel_cells (lvl, node, gkind);

-- kind 0: time to first contact, 1: time in the status key.
CREATE TABLE funnel_day_spans (
    day int NOT NULL,
    kind smallint NOT NULL,
    key text NOT NULL,
    bucket int NOT NULL,
    us bigint NOT NULL,
    source text NOT NULL,
    campaign text NOT NULL,
    owner text NOT NULL
);
CREATE INDEX funnel_day_spans_bucket ON funnel_day_spans (kind, key, bucket, day)
    INCLUDE (us, source, campaign, owner);
CREATE INDEX funnel_day_spans_day ON funnel_day_spans (day);

-- The leads whose last change is recent, for the stale and unresponsive counts.
CREATE INDEX funnel_leads_last ON funnel_leads (category, last_at) WHERE NOT merged;
"""

FUNCTIONS = (
    """
    CREATE FUNCTION funnel_day(at timestamptz) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'
    """,
    """
    CREATE FUNCTION funnel_day_start(day int) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (DATE '1970-01-01' + day)::timestamp AT TIME ZONE 'UTC'
    """,
    f"""
    CREATE FUNCTION funnel_bucket(us bigint) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN width_bucket(us, '{{{",".join(map(str, THRESHOLDS))}}}'::bigint[])
    """,
    # Per day of creation and grouping: the items of the leads created in the ranges [lo, hi).
    f"""
    CREATE FUNCTION funnel_items(lo timestamptz[], hi timestamptz[], gkinds smallint[])
    RETURNS TABLE (day int, gkind smallint, grp text, item smallint, key text, category text, bucket int,
                   n bigint, ord bigint[])
    LANGUAGE sql STABLE AS $$
    WITH f AS MATERIALIZED (
        SELECT funnel_day(f.created_at) AS day, g.gkind, g.grp, f.first_id, f.status, f.category,
               f.to_contact_us, f.reasons, f.span_status, f.span_us,
               ARRAY[{_ENTERED}, {_REACHED}] AS steps
        FROM unnest(lo, hi) AS r (lo, hi)
        JOIN funnel_leads f ON f.created_at >= r.lo AND f.created_at < r.hi AND NOT f.merged
        CROSS JOIN LATERAL (VALUES (0::smallint, ''), (1::smallint, coalesce(f.source, '')),
                                   (2::smallint, coalesce(f.campaign, '')),
                                   (3::smallint, coalesce(f.owner, ''))) AS g (gkind, grp)
        WHERE g.gkind = ANY(gkinds)
    )
    SELECT day, gkind, grp, 0::smallint, status, category, 0, count(*), ARRAY[min(first_id)]
    FROM f GROUP BY day, gkind, grp, status, category
    UNION ALL
    SELECT day, gkind, grp, (1 + (s.i - 1) / {len(STEPS)})::smallint, ((s.i - 1) % {len(STEPS)})::text, '', 0,
           count(*), NULL
    FROM f CROSS JOIN LATERAL unnest(f.steps) WITH ORDINALITY AS s (flag, i)
    WHERE s.flag GROUP BY day, gkind, grp, s.i
    UNION ALL
    SELECT day, gkind, grp, 3::smallint, r.code, '', 0, count(*), ARRAY[min(first_id)]
    FROM f CROSS JOIN LATERAL unnest(f.reasons) AS r (code) GROUP BY day, gkind, grp, r.code
    UNION ALL
    SELECT day, gkind, grp, 4::smallint, '', '', funnel_bucket(to_contact_us), count(*), NULL
    FROM f WHERE to_contact_us IS NOT NULL GROUP BY day, gkind, grp, 7
    UNION ALL
    SELECT day, gkind, grp, 5::smallint, s.status, '', funnel_bucket(s.us), count(*),
           min(ARRAY[first_id, s.step])
    FROM f CROSS JOIN LATERAL unnest(f.span_status, f.span_us) WITH ORDINALITY AS s (status, us, step)
    GROUP BY day, gkind, grp, s.status, 7
    $$
    """,
    # The durations of the leads created in the ranges [lo, hi), with their bucket and grouping values.
    """
    CREATE FUNCTION funnel_values(lo timestamptz[], hi timestamptz[])
    RETURNS TABLE (day int, kind smallint, key text, bucket int, us bigint, source text, campaign text,
                   owner text)
    LANGUAGE sql STABLE AS $$
    SELECT funnel_day(f.created_at), v.kind, v.key, funnel_bucket(v.us), v.us, coalesce(f.source, ''),
           coalesce(f.campaign, ''), coalesce(f.owner, '')
    FROM unnest(lo, hi) AS r (lo, hi)
    JOIN funnel_leads f ON f.created_at >= r.lo AND f.created_at < r.hi AND NOT f.merged
    CROSS JOIN LATERAL (
        SELECT 0::smallint, '', f.to_contact_us WHERE f.to_contact_us IS NOT NULL
        UNION ALL
        SELECT 1::smallint, s.status, s.us FROM unnest(f.span_status, f.span_us) AS s (status, us)
    ) AS v (kind, key, us)
    $$
    """,
    # The cells and durations of whole days, from the facts.
    """
    CREATE FUNCTION funnel_build_days(days int[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO funnel_cells
    SELECT 0, i.day, i.gkind, i.grp, i.item, i.key, i.category, i.bucket, i.n, i.ord
    FROM funnel_items(ARRAY(SELECT funnel_day_start(d) FROM unnest(days) d),
                      ARRAY(SELECT funnel_day_start(d + 1) FROM unnest(days) d), '{0,1,2,3}') i;
    INSERT INTO funnel_day_spans
    SELECT * FROM funnel_values(ARRAY(SELECT funnel_day_start(d) FROM unnest(days) d),
                                ARRAY(SELECT funnel_day_start(d + 1) FROM unnest(days) d));
    INSERT INTO funnel_nodes SELECT 0, d FROM unnest(days) d;
    $$
    """,
    # The cells of nodes of one level from those of their two halves (which must be built).
    """
    CREATE FUNCTION funnel_build_nodes(level smallint, nodes int[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO funnel_cells
    SELECT level, c.node >> 1, c.gkind, c.grp, c.item, c.key, c.category, c.bucket, sum(c.n), min(c.ord)
    FROM funnel_cells c
    WHERE c.lvl = level - 1 AND c.node = ANY(ARRAY(SELECT h FROM unnest(nodes) n, LATERAL (VALUES (2 * n),
                                                                                       (2 * n + 1)) AS v (h)))
    GROUP BY c.node >> 1, c.gkind, c.grp, c.item, c.key, c.category, c.bucket;
    INSERT INTO funnel_nodes SELECT level, n FROM unnest(nodes) n;
    $$
    """,
    # Forget what was built of the given days: their cells, durations and every node above them.
    f"""
    CREATE FUNCTION funnel_forget_days(days int[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM funnel_cells c
    USING (SELECT DISTINCT l::smallint AS lvl, d >> l AS node
           FROM unnest(days) d, generate_series(0, {MAX_LEVEL}) l) x
    WHERE c.lvl = x.lvl AND c.node = x.node;
    DELETE FROM funnel_nodes c
    USING (SELECT DISTINCT l::smallint AS lvl, d >> l AS node
           FROM unnest(days) d, generate_series(0, {MAX_LEVEL}) l) x
    WHERE c.lvl = x.lvl AND c.node = x.node;
    DELETE FROM funnel_day_spans WHERE day = ANY(days);
    $$
    """,
)

# Writers note the days whose facts a statement changed, once per transaction and day: the job rebuilds them,
# the reader counts them from the facts until then (a transaction-local setting remembers the days noted, and
# is undone with it).
DIRTY = (
    """
    CREATE FUNCTION funnel_days_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        noted int[] := coalesce(nullif(current_setting('leadflow.funnel_days', true), ''), '{}')::int[];
        days int[];
    BEGIN
        IF TG_OP = 'INSERT' THEN
            days := ARRAY(SELECT DISTINCT funnel_day(created_at) FROM new_rows);
        ELSIF TG_OP = 'UPDATE' THEN
            days := ARRAY(SELECT funnel_day(created_at) FROM new_rows
                          UNION SELECT funnel_day(created_at) FROM old_rows);
        ELSE
            days := ARRAY(SELECT DISTINCT funnel_day(created_at) FROM old_rows);
        END IF;
        days := ARRAY(SELECT d FROM unnest(days) d WHERE d <> ALL(noted));
        IF cardinality(days) > 0 THEN
            INSERT INTO funnel_dirty (day) SELECT unnest(days);
            PERFORM set_config('leadflow.funnel_days', (noted || days)::text, true);
        END IF;
        RETURN NULL;
    END $$
    """,
    *(
        f"CREATE TRIGGER funnel_days_{event.lower()} AFTER {event} ON funnel_leads"
        f" REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION funnel_days_changed()"
        for event, tables in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        )
    ),
)


def upgrade() -> None:
    execute_script(TABLES)
    for statement in (*FUNCTIONS, *DIRTY):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP FUNCTION funnel_days_changed() CASCADE")
    op.execute(
        "DROP FUNCTION funnel_forget_days, funnel_build_nodes, funnel_build_days, funnel_values,"
        " funnel_items, funnel_bucket, funnel_day_start, funnel_day"
    )
    op.execute("DROP INDEX funnel_leads_last")
    op.execute("DROP TABLE funnel_day_spans, funnel_cells, funnel_nodes, funnel_dirty")
