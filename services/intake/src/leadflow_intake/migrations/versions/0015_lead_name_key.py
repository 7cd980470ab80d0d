"""Each lead keeps its folded name beside its profile, so that looking through the people of a company for
possible duplicates reads plain columns, not the profile.

Leads stored before this revision have no name key until their next update; the duplicate search folds
their name from the profile meanwhile.

Revision ID: 0015
"""

from leadflow_shared.migrations import execute_script

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("ALTER TABLE leads ADD COLUMN name_key text;")


def downgrade() -> None:
    execute_script("ALTER TABLE leads DROP COLUMN name_key;")
