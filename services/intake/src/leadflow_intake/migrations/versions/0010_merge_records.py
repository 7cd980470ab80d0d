"""What each merge moved, so it can be undone: the merged lead's touches, keys, activities and consent
changes, the leads that had been merged into it, and what it filled into the survivor.

Revision ID: 0010
"""

from alembic import op

from leadflow_shared.migrations import execute_script

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE merges (
            id uuid PRIMARY KEY,
            survivor_id uuid NOT NULL REFERENCES leads (id),
            merged_id uuid NOT NULL REFERENCES leads (id),
            touch_ids bigint[] NOT NULL,
            identity_keys jsonb NOT NULL,
            activities jsonb NOT NULL,
            consent_changes jsonb NOT NULL,
            redirected uuid[] NOT NULL,
            survivor_changes jsonb NOT NULL,
            merged_at timestamptz NOT NULL DEFAULT now(),
            unmerged_at timestamptz,
            unmerged_by text,
            unmerge_reason text
        );
        CREATE UNIQUE INDEX merges_in_force ON merges (merged_id) WHERE unmerged_at IS NULL
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE merges")
