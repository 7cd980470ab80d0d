"""Fuzzy-dedup columns, duplicate pairs, activities, consent changes, CSV imports, KPI indexes.

Revision ID: 0002
"""

from alembic import op

from leadflow_shared.migrations import execute_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        ALTER TABLE leads ADD COLUMN company_domain text, ADD COLUMN company_key text;
        UPDATE leads SET company_domain = profile->>'company_domain'
            WHERE profile->>'company_domain' IS NOT NULL;
        CREATE INDEX leads_company_domain ON leads (company_domain) WHERE merged_into IS NULL;
        CREATE INDEX leads_company_key ON leads (company_key) WHERE merged_into IS NULL;
        CREATE TABLE duplicates (
            id uuid PRIMARY KEY,
            lead_id uuid NOT NULL REFERENCES leads (id),
            candidate_id uuid NOT NULL REFERENCES leads (id),
            score real NOT NULL,
            reason text NOT NULL,
            status text NOT NULL DEFAULT 'open',
            created_at timestamptz NOT NULL DEFAULT now(),
            decided_at timestamptz
        );
        CREATE UNIQUE INDEX duplicates_pair
            ON duplicates (LEAST(lead_id, candidate_id), GREATEST(lead_id, candidate_id));
        CREATE INDEX duplicates_status ON duplicates (status, created_at, id);
        CREATE INDEX duplicates_lead ON duplicates (lead_id);
        CREATE INDEX duplicates_candidate ON duplicates (candidate_id);
        CREATE TABLE activities (
            source_system text NOT NULL,
            activity_id text NOT NULL,
            lead_id uuid NOT NULL REFERENCES leads (id),
            activity_type text NOT NULL,
            trigger text,
            occurred_at timestamptz NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source_system, activity_id)
        );
        CREATE INDEX activities_lead ON activities (lead_id, occurred_at);
        CREATE TABLE consent_changes (
            source_system text NOT NULL,
            source_id text NOT NULL,
            lead_id uuid NOT NULL REFERENCES leads (id),
            channel text NOT NULL,
            opted_in boolean NOT NULL,
            reason text NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source_system, source_id)
        );
        CREATE INDEX consent_changes_lead ON consent_changes (lead_id);
        CREATE TABLE imports (
            id uuid PRIMARY KEY,
            filename text NOT NULL,
            content bytea,
            channel text NOT NULL,
            campaign jsonb NOT NULL DEFAULT '{}'::jsonb,
            status text NOT NULL DEFAULT 'pending',
            rows_total integer,
            rows_done integer NOT NULL DEFAULT 0,
            leads_submitted integer NOT NULL DEFAULT 0,
            rows_failed integer NOT NULL DEFAULT 0,
            error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX imports_pending ON imports (created_at) WHERE status IN ('pending', 'running');
        CREATE TABLE import_errors (
            import_id uuid NOT NULL REFERENCES imports (id),
            row_number integer NOT NULL,
            message text NOT NULL,
            PRIMARY KEY (import_id, row_number)
        );
        CREATE INDEX touches_received ON touches (received_at);
        CREATE INDEX touches_lead_source ON touches (source_system, lead_id);
        CREATE INDEX touches_csv_import ON touches ((split_part(source_id, ':', 1)))
            WHERE source_system = 'csv';
        CREATE INDEX rejections_source ON rejections (source_system, received_at)
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE import_errors, imports, consent_changes, activities, duplicates;"
        " DROP INDEX touches_received, touches_lead_source, touches_csv_import, rejections_source;"
        " ALTER TABLE leads DROP COLUMN company_domain, DROP COLUMN company_key"
    )
