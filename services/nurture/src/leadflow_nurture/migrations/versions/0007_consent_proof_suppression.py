"""Consent keeps its source and proof; the suppression list names opted-out and bounced addresses by hash.

The suppression list holds no address, only leadflow_shared.privacy.email_hash values, so erasure leaves
it in place: an erased person who opted out is still never mailed again.

Revision ID: 0007
"""

from alembic import op

from leadflow_shared.migrations import execute_script

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        ALTER TABLE consent ADD COLUMN source text NOT NULL DEFAULT 'intake';
        ALTER TABLE consent ADD COLUMN proof text;
        CREATE TABLE suppressions (
            email_hash text PRIMARY KEY,
            reason text NOT NULL,
            source text NOT NULL,
            suppressed_at timestamptz NOT NULL DEFAULT now()
        );
        -- What was already known: bounced addresses and email opt-outs of leads with an address. The hash is
        -- email_hash's (sha256 of the trimmed, lower-cased address), computed here by PostgreSQL.
        INSERT INTO suppressions (email_hash, reason, source, suppressed_at)
        SELECT encode(sha256(convert_to(lower(btrim(email)), 'UTF8')), 'hex'), 'bounced', 'smtp', marked_at
        FROM undeliverable
        ON CONFLICT (email_hash) DO NOTHING;
        INSERT INTO suppressions (email_hash, reason, source, suppressed_at)
        SELECT encode(sha256(convert_to(lower(btrim(l.profile->>'email')), 'UTF8')), 'hex'), 'opted out',
               c.source, c.changed_at
        FROM consent c JOIN leads l ON l.id = c.lead_id
        WHERE c.channel = 'email' AND NOT c.opted_in AND l.profile->>'email' IS NOT NULL
        ON CONFLICT (email_hash) DO NOTHING;
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE suppressions")
    op.execute("ALTER TABLE consent DROP COLUMN proof, DROP COLUMN source")
