"""Each lead's journey (the correlation id its events carry) and timeline, for one story across services;
indexes for the sorts of the lists people browse.

Revision ID: 0009
"""

from leadflow_shared.journeys import JOURNEYS_DDL, JOURNEYS_DROP_DDL
from leadflow_shared.migrations import execute_script

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The sorts the lists offer (keyset on the sort key and the id); a descending sort scans them backwards.
SORT_INDEXES = """
CREATE INDEX IF NOT EXISTS leads_by_status_since ON leads (status_since, id) WHERE merged_into IS NULL;
CREATE INDEX IF NOT EXISTS leads_by_creation ON leads (created_at, id) WHERE merged_into IS NULL;
"""
SORT_INDEX_NAMES = (
    "leads_by_status_since",
    "leads_by_creation",
)


def upgrade() -> None:
    execute_script(JOURNEYS_DDL + SORT_INDEXES)


def downgrade() -> None:
    execute_script(f"DROP INDEX IF EXISTS {', '.join(SORT_INDEX_NAMES)};\n" + JOURNEYS_DROP_DDL)
