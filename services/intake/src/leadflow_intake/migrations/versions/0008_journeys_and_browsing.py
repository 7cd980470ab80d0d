"""Each lead's journey (the correlation id its events carry) and timeline, for one story across services.

Revision ID: 0008
"""

from leadflow_shared.journeys import JOURNEYS_DDL, JOURNEYS_DROP_DDL
from leadflow_shared.migrations import execute_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(JOURNEYS_DDL)


def downgrade() -> None:
    execute_script(JOURNEYS_DROP_DDL)
