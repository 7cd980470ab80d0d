"""When each value of a lead's profile occurred, so a later submission wins and an older one only fills gaps.

Revision ID: 0006
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default: no table rewrite, existing leads count as of their first touch.
    op.execute("ALTER TABLE leads ADD COLUMN field_times jsonb NOT NULL DEFAULT '{}'::jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE leads DROP COLUMN field_times")
