"""Outbox rows Kafka would never take are parked with their reason instead of stalling the relay.

Revision ID: 0007
"""

from leadflow_shared.migrations import execute_script
from leadflow_shared.outbox import OUTBOX_PARKING_DDL, OUTBOX_UNPARKING_DDL

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(OUTBOX_PARKING_DDL)


def downgrade() -> None:
    execute_script(OUTBOX_UNPARKING_DDL)
