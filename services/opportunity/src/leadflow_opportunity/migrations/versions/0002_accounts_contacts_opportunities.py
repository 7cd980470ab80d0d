"""Accounts, contacts, converted leads, opportunities, stage history and versioned configuration.

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
        CREATE TABLE config_versions (
            kind text NOT NULL,
            version integer NOT NULL,
            body jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (kind, version)
        );
        CREATE TABLE accounts (
            id uuid PRIMARY KEY,
            name text NOT NULL,
            domain text,
            name_key text,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX accounts_domain ON accounts (domain) WHERE domain IS NOT NULL;
        CREATE UNIQUE INDEX accounts_name_key_without_domain ON accounts (name_key) WHERE domain IS NULL;
        CREATE INDEX accounts_name_key ON accounts (name_key);
        CREATE TABLE contacts (
            id uuid PRIMARY KEY,
            account_id uuid NOT NULL REFERENCES accounts (id),
            email_key text,
            lead_id uuid NOT NULL,
            first_name text,
            last_name text,
            email text,
            phone text,
            job_title text,
            owner text,
            source_system text,
            campaign jsonb NOT NULL DEFAULT '{}'::jsonb,
            campaign_key text,
            signals jsonb NOT NULL DEFAULT '{}'::jsonb,
            criteria_check jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX contacts_email_key ON contacts (email_key) WHERE email_key IS NOT NULL;
        CREATE INDEX contacts_account ON contacts (account_id, created_at);
        CREATE TABLE converted_leads (
            lead_id uuid PRIMARY KEY,
            account_id uuid NOT NULL REFERENCES accounts (id),
            contact_id uuid NOT NULL REFERENCES contacts (id),
            source_system text,
            campaign_key text,
            converted_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX converted_leads_contact ON converted_leads (contact_id);
        CREATE TABLE opportunities (
            id uuid PRIMARY KEY,
            lead_id uuid NOT NULL,
            account_id uuid NOT NULL REFERENCES accounts (id),
            contact_id uuid NOT NULL REFERENCES contacts (id),
            name text NOT NULL,
            stage text NOT NULL,
            probability double precision NOT NULL,
            forecast_category text NOT NULL,
            amount numeric(18, 2) NOT NULL,
            amount_basis text NOT NULL,
            close_date date NOT NULL,
            owner text,
            source_system text,
            campaign jsonb NOT NULL DEFAULT '{}'::jsonb,
            campaign_key text,
            criteria_version integer NOT NULL,
            stage_set_version integer NOT NULL,
            is_closed boolean NOT NULL DEFAULT false,
            is_won boolean NOT NULL DEFAULT false,
            lost_reason text,
            opened_at timestamptz NOT NULL,
            closed_at timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX opportunities_one_open_per_contact ON opportunities (contact_id)
            WHERE NOT is_closed;
        CREATE INDEX opportunities_contact ON opportunities (contact_id);
        CREATE INDEX opportunities_account ON opportunities (account_id, opened_at);
        CREATE INDEX opportunities_by_close ON opportunities (close_date, id);
        CREATE INDEX opportunities_by_stage ON opportunities (stage, close_date, id);
        CREATE INDEX opportunities_by_owner ON opportunities (owner, close_date, id);
        CREATE INDEX opportunities_open ON opportunities (stage) WHERE NOT is_closed;
        CREATE TABLE stage_history (
            id bigserial PRIMARY KEY,
            opportunity_id uuid NOT NULL REFERENCES opportunities (id),
            from_stage text,
            to_stage text NOT NULL,
            probability double precision NOT NULL,
            forecast_category text NOT NULL,
            amount numeric(18, 2) NOT NULL,
            close_date date NOT NULL,
            lost_reason text,
            changed text[] NOT NULL,
            actor text NOT NULL,
            at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX stage_history_opportunity ON stage_history (opportunity_id, id);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE stage_history, opportunities, converted_leads, contacts, accounts, config_versions"
    )
