"""Each lead's journey (the correlation id its events carry) and timeline, for one story across services;
indexes for the sorts of the lists people browse.

Revision ID: 0012
"""

from leadflow_shared.journeys import JOURNEYS_DDL, JOURNEYS_DROP_DDL
from leadflow_shared.migrations import execute_script

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The sorts the lists offer (keyset on the sort key and the id); a descending sort scans them backwards.
SORT_INDEXES = """
CREATE INDEX IF NOT EXISTS leads_by_update ON leads (updated_at, id) WHERE merged_into IS NULL;
CREATE INDEX IF NOT EXISTS leads_by_last_name ON leads ((coalesce(profile->>'last_name', '')), id)
    WHERE merged_into IS NULL;
CREATE INDEX IF NOT EXISTS leads_by_company ON leads ((coalesce(profile->>'company', '')), id)
    WHERE merged_into IS NULL;
"""
SORT_INDEX_NAMES = (
    "leads_by_update",
    "leads_by_last_name",
    "leads_by_company",
)


def upgrade() -> None:
    execute_script(JOURNEYS_DDL + SORT_INDEXES)


def downgrade() -> None:
    execute_script(f"DROP INDEX IF EXISTS {', '.join(SORT_INDEX_NAMES)};\n" + JOURNEYS_DROP_DDL)
