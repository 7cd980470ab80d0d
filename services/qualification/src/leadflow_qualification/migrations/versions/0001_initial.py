"""Lead statuses and their history, outbox and inbox.

Revision ID: 0001
"""

from alembic import op

from leadflow_shared.migrations import execute_script
from leadflow_shared.schema import MESSAGING_DDL

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(MESSAGING_DDL)
    execute_script(
        """
        CREATE TABLE leads (
            id uuid PRIMARY KEY,
            status text NOT NULL,
            category text NOT NULL,
            profile jsonb NOT NULL,
            touch jsonb,
            owner text,
            team text,
            fit_score real,
            engagement_score real,
            merged_into uuid,
            status_since timestamptz NOT NULL DEFAULT now(),
            last_progress_at timestamptz NOT NULL DEFAULT now(),
            stale boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX leads_status ON leads (status, id);
        CREATE INDEX leads_owner ON leads (owner, id);
        CREATE TABLE status_history (
            id bigserial PRIMARY KEY,
            lead_id uuid NOT NULL REFERENCES leads (id),
            from_status text,
            to_status text NOT NULL,
            category text NOT NULL,
            reason text NOT NULL,
            actor text NOT NULL,
            at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX status_history_lead ON status_history (lead_id, id);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE status_history, leads, inbox, outbox")
