"""The read model of leads, outbox and inbox.

Revision ID: 0001
"""

from alembic import op

from leadflow_shared.migrations import execute_script
from leadflow_shared.schema import MESSAGING_DDL

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(MESSAGING_DDL)
    execute_script(
        """
        CREATE TABLE leads (
            id uuid PRIMARY KEY,
            status text,
            category text,
            profile jsonb,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE leads, inbox, outbox")
