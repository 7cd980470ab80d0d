"""Per-lead funnel facts, kept by triggers from the status history, so the funnel reads one row per lead.

Revision ID: 0004
"""

from alembic import op

from leadflow_shared.migrations import execute_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KEPT_CATEGORIES = ("open", "contacted", "qualified", "converted")
"""The categories whose first and last entry a lead's facts keep: those of domain.funnel.FUNNEL_STEPS."""
DISQUALIFIED_CATEGORIES = ("unqualified", "nurturing", "archived")
"""The categories whose reason codes a lead's facts keep: domain.funnel.DISQUALIFIED."""


def _source(lead: str) -> str:
    return f"{lead}.touch->>'source_system'"


def _campaign(lead: str) -> str:
    return f"coalesce({lead}.touch->'campaign'->>'utm_campaign', {lead}.touch->'campaign'->>'campaign_name')"


# Each column of funnel_leads: its type and how it is computed from the lead `l` and its history rows `s`
# in time order (at, id), where `next_at` is the time of the next row (NULL on the last one), `step` the
# row's place (from 1) and `opened` the lead's first entry into an open status.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("lead_id", "uuid PRIMARY KEY", "l.id"),
    ("created_at", "timestamptz NOT NULL", "l.created_at"),
    ("merged", "boolean NOT NULL", "l.merged_into IS NOT NULL"),
    # the raw values the report groups by
    ("source", "text", _source("l")),
    ("campaign", "text", _campaign("l")),
    ("owner", "text", "l.owner"),
    # the id of the first history row: the report lists keys in the order of the first lead that has them
    ("first_id", "bigint NOT NULL", "min(s.id)"),
    ("status", "text NOT NULL", "min(s.to_status) FILTER (WHERE s.next_at IS NULL)"),
    ("category", "text NOT NULL", "min(s.category) FILTER (WHERE s.next_at IS NULL)"),
    ("last_at", "timestamptz NOT NULL", "min(s.at) FILTER (WHERE s.next_at IS NULL)"),
    *(
        (f"{category}_{end}", "timestamptz", f"{fn}(s.at) FILTER (WHERE s.category = '{category}')")
        for category in KEPT_CATEGORIES
        for end, fn in (("first", "min"), ("last", "max"))
    ),
    (
        "to_contact_us",
        "bigint",
        "(extract(epoch FROM min(s.at) FILTER (WHERE s.category = 'contacted' AND s.at >= s.opened)"
        " - min(s.opened)) * 1000000)::bigint",
    ),
    (
        "reasons",
        "text[]",
        "array_agg(DISTINCT s.reason_code) FILTER (WHERE s.reason_code IS NOT NULL AND s.category IN ("
        + ", ".join(f"'{c}'" for c in DISQUALIFIED_CATEGORIES)
        + "))",
    ),
    # the time spent in each status but the last, in the order the lead went through them
    ("span_status", "text[]", "array_agg(s.to_status ORDER BY s.step) FILTER (WHERE s.next_at IS NOT NULL)"),
    (
        "span_us",
        "bigint[]",
        "array_agg((extract(epoch FROM s.next_at - s.at) * 1000000)::bigint ORDER BY s.step)"
        " FILTER (WHERE s.next_at IS NOT NULL)",
    ),
)

_TABLE = ",\n".join(f"    {name} {kind}" for name, kind, _ in COLUMNS)
TABLE = f"""
CREATE TABLE funnel_leads (
{_TABLE}
) WITH (fillfactor = 80);

CREATE INDEX funnel_leads_created ON funnel_leads (created_at) WHERE NOT merged;
"""

# The facts of the leads whose history `where` selects, in order of creation so that a window's rows are
# stored together. Only leads with a history have facts.
FACTS = f"""
SELECT {", ".join(expression for _, _, expression in COLUMNS)}
FROM (
    SELECT h.lead_id, h.id, h.to_status, h.category, h.at, h.reason_code,
           lead(h.at) OVER in_order AS next_at, row_number() OVER in_order AS step,
           min(h.at) FILTER (WHERE h.category = 'open') OVER (PARTITION BY h.lead_id) AS opened
    FROM status_history h {{where}}
    WINDOW in_order AS (PARTITION BY h.lead_id ORDER BY h.at, h.id)
) s JOIN leads l ON l.id = s.lead_id
GROUP BY l.id ORDER BY l.created_at
"""

# The facts of the given leads computed again from their whole history (a lead without one has none).
# Writers hold a lead's row before they add to its history (they insert it, or lock or update it: its status
# lives there), so a refresh always sees the history other transactions committed for that lead. Updates
# keep to their page (fillfactor) and change no indexed column: HOT updates.
REFRESH = (
    f"""
    CREATE FUNCTION funnel_refresh(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        -- Statement triggers fire for statements that wrote no history row too (a batch of decisions only).
        IF cardinality(ids) = 0 THEN
            RETURN;
        END IF;
        INSERT INTO funnel_leads {FACTS.format(where="WHERE h.lead_id = ANY(ids)")}
        ON CONFLICT (lead_id) DO UPDATE SET
            {", ".join(f"{name} = excluded.{name}" for name, _, _ in COLUMNS[1:])};
    END $$
    """,
    """
    CREATE FUNCTION funnel_forget(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM funnel_leads f
        WHERE f.lead_id = ANY(ids) AND NOT EXISTS (SELECT FROM status_history h WHERE h.lead_id = f.lead_id);
    END $$
    """,
)

# Statement triggers: a batch of history rows, or a COPY, refreshes its leads in one statement.
TRIGGERS = (
    """
    CREATE FUNCTION funnel_history_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM funnel_refresh(ARRAY(SELECT DISTINCT lead_id FROM changed));
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION funnel_history_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM funnel_refresh(ARRAY(SELECT lead_id FROM changed UNION SELECT lead_id FROM gone));
        PERFORM funnel_forget(ARRAY(SELECT lead_id FROM gone));
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION funnel_history_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM funnel_refresh(ARRAY(SELECT DISTINCT lead_id FROM gone));
        PERFORM funnel_forget(ARRAY(SELECT DISTINCT lead_id FROM gone));
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER funnel_history_insert AFTER INSERT ON status_history
        REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION funnel_history_added()
    """,
    """
    CREATE TRIGGER funnel_history_update AFTER UPDATE ON status_history
        REFERENCING NEW TABLE AS changed OLD TABLE AS gone FOR EACH STATEMENT
        EXECUTE FUNCTION funnel_history_changed()
    """,
    """
    CREATE TRIGGER funnel_history_delete AFTER DELETE ON status_history
        REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION funnel_history_removed()
    """,
    # A lead's creation time, merge and grouping values follow it; the WHEN keeps other updates free.
    f"""
    CREATE FUNCTION funnel_lead_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE funnel_leads SET created_at = NEW.created_at, merged = NEW.merged_into IS NOT NULL,
            source = {_source("NEW")}, campaign = {_campaign("NEW")},
            owner = NEW.owner
        WHERE lead_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER funnel_lead_update AFTER UPDATE OF created_at, merged_into, touch, owner ON leads
        FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at
                           OR (OLD.merged_into IS NULL) <> (NEW.merged_into IS NULL)
                           OR OLD.touch IS DISTINCT FROM NEW.touch OR OLD.owner IS DISTINCT FROM NEW.owner)
        EXECUTE FUNCTION funnel_lead_changed()
    """,
)


def upgrade() -> None:
    execute_script(TABLE)
    for statement in (*REFRESH, *TRIGGERS):
        op.execute(statement)
    op.execute(f"INSERT INTO funnel_leads {FACTS.format(where='')}")
    op.execute("ANALYZE funnel_leads")


def downgrade() -> None:
    op.execute("DROP TRIGGER funnel_history_insert ON status_history")
    op.execute("DROP TRIGGER funnel_history_update ON status_history")
    op.execute("DROP TRIGGER funnel_history_delete ON status_history")
    op.execute("DROP TRIGGER funnel_lead_update ON leads")
    op.execute(
        "DROP FUNCTION funnel_refresh, funnel_forget, funnel_history_added, funnel_history_changed,"
        " funnel_history_removed, funnel_lead_changed"
    )
    op.execute("DROP TABLE funnel_leads")
