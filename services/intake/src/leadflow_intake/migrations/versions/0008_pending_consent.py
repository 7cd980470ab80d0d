"""Consent changes for an email no lead has yet are kept, and applied when that person is captured.

Revision ID: 0008
"""

from alembic import op

from leadflow_shared.migrations import execute_script

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE pending_consent (
            seq bigserial,
            source_system text NOT NULL,
            source_id text NOT NULL,
            email_key text NOT NULL,
            channel text NOT NULL,
            opted_in boolean NOT NULL,
            reason text NOT NULL,
            occurred_at timestamptz,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source_system, source_id)
        );
        CREATE INDEX pending_consent_email ON pending_consent (email_key);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE pending_consent")
