"""Leads, identity keys, touches, quarantine, outbox and inbox.

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
            email text,
            phone text,
            profile jsonb NOT NULL,
            merged_into uuid REFERENCES leads (id),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX leads_email ON leads (email);
        CREATE INDEX leads_created ON leads (created_at, id);
        CREATE TABLE identity_keys (
            kind text NOT NULL,
            value text NOT NULL,
            lead_id uuid NOT NULL REFERENCES leads (id),
            PRIMARY KEY (kind, value)
        );
        CREATE INDEX identity_keys_lead ON identity_keys (lead_id);
        CREATE TABLE touches (
            id bigserial PRIMARY KEY,
            lead_id uuid NOT NULL REFERENCES leads (id),
            channel text NOT NULL,
            source_system text NOT NULL,
            source_id text,
            campaign jsonb NOT NULL DEFAULT '{}'::jsonb,
            occurred_at timestamptz NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX touches_lead ON touches (lead_id);
        CREATE UNIQUE INDEX touches_source_id ON touches (source_system, source_id)
            WHERE source_id IS NOT NULL;
        CREATE TABLE rejections (
            id uuid PRIMARY KEY,
            source_system text NOT NULL,
            reason text NOT NULL,
            problems jsonb NOT NULL DEFAULT '[]'::jsonb,
            payload jsonb NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX rejections_received ON rejections (received_at, id);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE rejections, touches, identity_keys, leads, inbox, outbox")
