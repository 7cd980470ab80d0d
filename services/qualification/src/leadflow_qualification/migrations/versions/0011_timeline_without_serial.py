"""Timeline facts are ordered by time and event id: the serial key and its index go.

Revision ID: 0011
"""

from leadflow_shared.journeys import TIMELINE_KEY_BACK, TIMELINE_KEY_DROP
from leadflow_shared.migrations import execute_script

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(TIMELINE_KEY_DROP)


def downgrade() -> None:
    execute_script(TIMELINE_KEY_BACK)
