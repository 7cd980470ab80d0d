"""Running totals behind the pipeline, the forecast and the KPIs, kept by triggers.

Revision ID: 0003
"""

from alembic import op

from leadflow_shared.totals import Column, RunningTotals

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# One row per dimension a row is reported under: its source and its campaign ('' when it has none).
BY_SOURCE_AND_CAMPAIGN = (
    "CROSS JOIN LATERAL (VALUES ('source', coalesce(r.source_system, '')),"
    " ('campaign', coalesce(r.campaign_key, ''))) AS d (dimension, key)"
)
DIMENSION = (Column("dimension", "text", "d.dimension"), Column("key", "text", "d.key"))

TOTALS = (
    RunningTotals(
        table="stage_totals",
        source="opportunities",
        keys=(
            Column("stage", "text", "r.stage"),
            Column("forecast_category", "text", "r.forecast_category"),
            Column("is_closed", "boolean", "r.is_closed"),
            Column("close_month", "date", "date_trunc('month', r.close_date::timestamp)::date"),
        ),
        sums=(
            Column("opportunities", "bigint", "1"),
            Column("amount", "numeric", "r.amount"),
            # The probability as the decimal Python's str() gives, so the sums match Decimal arithmetic.
            Column("weighted_amount", "numeric", "r.amount * r.probability::text::numeric"),
        ),
    ),
    RunningTotals(
        table="attribution_totals",
        source="opportunities",
        keys=(
            *DIMENSION,
            Column(
                "outcome",
                "text",
                "CASE WHEN NOT r.is_closed THEN 'open' WHEN r.is_won THEN 'won' ELSE 'lost' END",
            ),
        ),
        sums=(Column("opportunities", "bigint", "1"), Column("amount", "numeric", "r.amount")),
        join=BY_SOURCE_AND_CAMPAIGN,
    ),
    RunningTotals(
        table="won_cycles",
        source="opportunities",
        keys=(
            *DIMENSION,
            Column(
                "cycle_days",
                "integer",
                "(r.closed_at AT TIME ZONE 'UTC')::date - (r.opened_at AT TIME ZONE 'UTC')::date",
            ),
        ),
        sums=(Column("opportunities", "bigint", "1"),),
        where="r.is_closed AND r.is_won AND r.closed_at IS NOT NULL",
        join=BY_SOURCE_AND_CAMPAIGN,
    ),
    RunningTotals(
        table="conversion_totals",
        source="converted_leads",
        keys=DIMENSION,
        sums=(Column("leads", "bigint", "1"),),
        join=BY_SOURCE_AND_CAMPAIGN,
    ),
)


def upgrade() -> None:
    for totals in TOTALS:
        for statement in totals.ddl():
            op.execute(statement)


def downgrade() -> None:
    for totals in reversed(TOTALS):
        for statement in totals.drop():
            op.execute(statement)
