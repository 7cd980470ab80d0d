"""Corrections made by people through the API: who, why, and each field's value before and after.

Revision ID: 0009
"""

from alembic import op

from leadflow_shared.migrations import execute_script

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE corrections (
            id uuid PRIMARY KEY,
            lead_id uuid NOT NULL REFERENCES leads (id),
            actor text NOT NULL,
            reason text NOT NULL,
            changes jsonb NOT NULL,
            corrected_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX corrections_lead ON corrections (lead_id, corrected_at)
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE corrections")
