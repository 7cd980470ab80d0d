"""The lead list's sort by creation reads leads_created: its partial twin (0009) only cost every write.

Revision ID: 0012
"""

from leadflow_shared.migrations import execute_script

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("DROP INDEX IF EXISTS leads_by_creation;")


def downgrade() -> None:
    execute_script(
        "CREATE INDEX IF NOT EXISTS leads_by_creation ON leads (created_at, id) WHERE merged_into IS NULL;"
    )
