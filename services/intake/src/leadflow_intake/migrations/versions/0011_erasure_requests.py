"""Erasure requests, each service's confirmation of them, and the leads erased here.

Revision ID: 0011
"""

from alembic import op

from leadflow_shared.erasure import ERASED_LEADS_DDL
from leadflow_shared.migrations import execute_script

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE erasure_requests (
            id uuid PRIMARY KEY,
            email_hashes text[] NOT NULL,
            lead_ids uuid[] NOT NULL,
            origin text NOT NULL,
            requested_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX erasure_requests_email_hashes ON erasure_requests USING gin (email_hashes);
        CREATE INDEX erasure_requests_leads ON erasure_requests USING gin (lead_ids);
        CREATE TABLE erasure_confirmations (
            request_id uuid NOT NULL REFERENCES erasure_requests (id),
            service text NOT NULL,
            done_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (request_id, service)
        );
        """
        + ERASED_LEADS_DDL
    )


def downgrade() -> None:
    op.execute("DROP TABLE erased_leads, erasure_confirmations, erasure_requests")
