"""Each lead's journey (the correlation id its events carry) and timeline, for one story across services;
indexes for the sorts of the lists people browse.

Revision ID: 0007
"""

from leadflow_shared.journeys import JOURNEYS_DDL, JOURNEYS_DROP_DDL
from leadflow_shared.migrations import execute_script

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The sorts the lists offer (keyset on the sort key and the id); a descending sort scans them backwards.
SORT_INDEXES = """
CREATE INDEX IF NOT EXISTS accounts_by_name ON accounts (name, id);
CREATE INDEX IF NOT EXISTS contacts_by_creation ON contacts (created_at, id);
CREATE INDEX IF NOT EXISTS contacts_by_last_name ON contacts ((coalesce(last_name, '')), id);
CREATE INDEX IF NOT EXISTS opportunities_by_amount ON opportunities (amount, id);
"""
SORT_INDEX_NAMES = (
    "accounts_by_name",
    "contacts_by_creation",
    "contacts_by_last_name",
    "opportunities_by_amount",
)


def upgrade() -> None:
    execute_script(JOURNEYS_DDL + SORT_INDEXES)


def downgrade() -> None:
    execute_script(f"DROP INDEX IF EXISTS {', '.join(SORT_INDEX_NAMES)};\n" + JOURNEYS_DROP_DDL)
