"""The inbox by age, so housekeeping forgets old event ids without reading them all.

Revision ID: 0003
"""

from alembic import op

from leadflow_shared.inbox import INBOX_AGE_INDEX

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(INBOX_AGE_INDEX)


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS inbox_processed_at")
