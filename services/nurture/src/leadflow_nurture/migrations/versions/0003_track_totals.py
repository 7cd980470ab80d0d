"""Running totals behind the track KPIs, kept by triggers on enrollments.

Revision ID: 0003
"""

from alembic import op

from leadflow_shared.totals import Column, RunningTotals

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TRACK_TOTALS = RunningTotals(
    table="track_totals",
    source="enrollments",
    keys=(
        Column("track", "text", "r.track"),
        Column("status", "text", "r.status"),
        Column("exhausted_next", "text", "coalesce(r.exhausted_next, '')"),
    ),
    sums=(
        Column("enrolled", "bigint", "1"),
        Column("touches_sent", "bigint", "r.touches_sent"),
        Column("touches_skipped", "bigint", "r.touches_skipped"),
        Column("engaged", "bigint", "(r.last_engaged_at IS NOT NULL)::int"),
    ),
)


def upgrade() -> None:
    for statement in TRACK_TOTALS.ddl():
        op.execute(statement)


def downgrade() -> None:
    for statement in TRACK_TOTALS.drop():
        op.execute(statement)
