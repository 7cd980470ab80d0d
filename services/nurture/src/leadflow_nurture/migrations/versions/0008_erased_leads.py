"""The leads erased here, so that their late events are pseudonymised on arrival.

Revision ID: 0008
"""

from alembic import op

from leadflow_shared.erasure import ERASED_LEADS_DDL
from leadflow_shared.migrations import execute_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(ERASED_LEADS_DDL)


def downgrade() -> None:
    op.execute("DROP TABLE erased_leads")
