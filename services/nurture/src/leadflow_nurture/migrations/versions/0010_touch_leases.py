"""A lease on the touches a round is sending, so that no transaction stays open while SMTP talks.

Revision ID: 0010
"""

from alembic import op

from leadflow_shared.migrations import execute_script

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        ALTER TABLE touches ADD COLUMN lease uuid, ADD COLUMN leased_until timestamptz;
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE touches DROP COLUMN lease, DROP COLUMN leased_until")
