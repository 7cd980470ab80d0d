"""Why a touch failed for good, and the addresses that bounced (nothing more is sent to them).

Revision ID: 0005
"""

from alembic import op

from leadflow_shared.migrations import execute_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        ALTER TABLE touches ADD COLUMN failure text;
        CREATE TABLE undeliverable (
            email text PRIMARY KEY,
            reason text NOT NULL,
            touch_id bigint,
            marked_at timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE undeliverable")
    op.execute("ALTER TABLE touches DROP COLUMN failure")
