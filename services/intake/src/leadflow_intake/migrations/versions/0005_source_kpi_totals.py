"""Per-day totals behind the source KPIs, kept by triggers: touches and distinct leads per source, new and
merged leads, rejections.

Revision ID: 0005
"""

from alembic import op

from leadflow_shared.totals import Column, RunningTotals

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# A touch's UTC day and its campaign as a key that is never NULL: '' when it has none, else '=' and the name.
DAY = "(r.received_at AT TIME ZONE 'UTC')::date"
CAMPAIGN_KEY = (
    "coalesce('=' || coalesce(r.campaign->>'utm_campaign', r.campaign->>'campaign_name',"
    " r.campaign->>'campaign_id'), '')"
)
MEMBER = "day, source, channel, campaign_key, lead_id"
MEMBER_OF_ROW = f"{DAY}, r.source_system, r.channel, {CAMPAIGN_KEY}, r.lead_id"


def _add_members(changes: str) -> str:
    """Add the touches counted by `changes` (member columns and n) to their members, in key order, so that
    concurrent statements wait for one another instead of deadlocking."""
    return (
        f"INSERT INTO source_day_leads AS m ({MEMBER}, touches)"
        f" SELECT {MEMBER}, sum(n) FROM ({changes}) c ({MEMBER}, n)"
        f" GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5"
        f" ON CONFLICT ({MEMBER}) DO UPDATE SET touches = m.touches + excluded.touches"
    )


ADDED = f"SELECT {MEMBER_OF_ROW}, 1 FROM new_rows r"
REMOVED = f"SELECT {MEMBER_OF_ROW}, -1 FROM old_rows r"
NO_LONGER_MEMBERS = (
    "DELETE FROM source_day_leads WHERE touches = 0"
    f" AND ({MEMBER}) IN (SELECT {MEMBER_OF_ROW} FROM old_rows r)"
)

# Which leads each (day, source, channel, campaign) reached and with how many touches: the distinct leads
# of a key are then its rows, which running totals can count.
MEMBERS = [
    f"""
    CREATE TABLE source_day_leads (
        day date NOT NULL,
        source text NOT NULL,
        channel text NOT NULL,
        campaign_key text NOT NULL,
        lead_id uuid NOT NULL,
        touches bigint NOT NULL,
        PRIMARY KEY ({MEMBER})
    )
    """,
    f"INSERT INTO source_day_leads ({MEMBER}, touches)"
    f" SELECT {MEMBER_OF_ROW}, count(*) FROM touches r GROUP BY 1, 2, 3, 4, 5",
    f"""
    CREATE FUNCTION source_day_leads_change() RETURNS trigger LANGUAGE plpgsql AS $change$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {_add_members(ADDED)};
        ELSIF TG_OP = 'UPDATE' THEN
            {_add_members(f"{ADDED} UNION ALL {REMOVED}")};
            {NO_LONGER_MEMBERS};
        ELSIF TG_OP = 'DELETE' THEN
            {_add_members(REMOVED)};
            {NO_LONGER_MEMBERS};
        ELSE
            DELETE FROM source_day_leads;
        END IF;
        RETURN NULL;
    END
    $change$
    """,
]

MEMBER_TRIGGERS = [
    f"CREATE TRIGGER source_day_leads_{event.lower()} AFTER {event} ON touches"
    f" REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION source_day_leads_change()"
    for event, tables in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    )
] + [
    "CREATE TRIGGER source_day_leads_truncate AFTER TRUNCATE ON touches"
    " FOR EACH STATEMENT EXECUTE FUNCTION source_day_leads_change()"
]

TOTALS = (
    RunningTotals(
        table="source_day_totals",
        source="source_day_leads",
        keys=(
            Column("day", "date", "r.day"),
            Column("source", "text", "r.source"),
            Column("channel", "text", "r.channel"),
            Column("campaign_key", "text", "r.campaign_key"),
        ),
        sums=(Column("touches", "bigint", "r.touches"), Column("leads", "bigint", "1")),
    ),
    RunningTotals(
        table="lead_days",
        source="leads",
        keys=(Column("day", "date", "(r.created_at AT TIME ZONE 'UTC')::date"),),
        sums=(
            Column("new_leads", "bigint", "1"),
            Column("merged_leads", "bigint", "(r.merged_into IS NOT NULL)::int"),
        ),
    ),
    RunningTotals(
        table="rejection_days",
        source="rejections",
        keys=(Column("day", "date", "(r.received_at AT TIME ZONE 'UTC')::date"),),
        sums=(Column("rejections", "bigint", "1"),),
    ),
)


def upgrade() -> None:
    # Writers wait until the new tables are filled and their triggers exist, so that no row is missed.
    op.execute("LOCK TABLE touches, leads, rejections IN SHARE ROW EXCLUSIVE MODE")
    for statement in MEMBERS:
        op.execute(statement)
    for totals in TOTALS:
        for statement in totals.ddl():
            op.execute(statement)
    for statement in MEMBER_TRIGGERS:
        op.execute(statement)
    # The fold looks for unfolded rows every few seconds; most of this table's rows are folded.
    op.execute("CREATE INDEX source_day_totals_unfolded ON source_day_totals (day) WHERE NOT folded")


def downgrade() -> None:
    op.execute("DROP FUNCTION source_day_leads_change() CASCADE")
    for totals in reversed(TOTALS):
        for statement in totals.drop():
            op.execute(statement)
    op.execute("DROP TABLE source_day_leads")
