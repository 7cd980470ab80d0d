"""Merged leads by creation time, for the duplicate rate of the source KPIs.

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Few leads are merged: this index keeps their count per window off the heap of every lead.
    op.execute("CREATE INDEX leads_merged_created ON leads (created_at) WHERE merged_into IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX leads_merged_created")
