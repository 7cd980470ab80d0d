"""A lead's journey is its first timeline fact's correlation id: lead_journeys goes.

Revision ID: 0013
"""

from leadflow_shared.journeys import JOURNEYS_TABLE_BACK, JOURNEYS_TABLE_DROP
from leadflow_shared.migrations import execute_script

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(JOURNEYS_TABLE_DROP)


def downgrade() -> None:
    execute_script(JOURNEYS_TABLE_BACK)
