"""Decisions, activities, versioned configuration, assignment state; lead columns for them.

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
        ALTER TABLE leads
            ADD COLUMN sales_input jsonb NOT NULL DEFAULT '{}'::jsonb,
            ADD COLUMN decision jsonb,
            ADD COLUMN criteria_version integer,
            ADD COLUMN manual_override boolean NOT NULL DEFAULT false,
            ADD COLUMN disqualification_reason text,
            ADD COLUMN stale_since timestamptz;
        CREATE INDEX leads_progress ON leads (category, last_progress_at) WHERE merged_into IS NULL;
        CREATE INDEX leads_stale ON leads (id) WHERE stale;
        CREATE INDEX leads_team_owner ON leads (team, owner) WHERE category IN ('open', 'contacted');
        CREATE INDEX leads_created ON leads (created_at, id);
        ALTER TABLE status_history ADD COLUMN reason_code text;
        CREATE TABLE activities (
            lead_id uuid NOT NULL,
            activity_id text NOT NULL,
            activity_type text NOT NULL,
            occurred_at timestamptz NOT NULL,
            trigger text,
            PRIMARY KEY (lead_id, activity_id)
        );
        CREATE TABLE decisions (
            id bigserial PRIMARY KEY,
            lead_id uuid NOT NULL REFERENCES leads (id),
            criteria_version integer NOT NULL,
            outcome text NOT NULL,
            reason text,
            fit_score real NOT NULL,
            engagement_score real NOT NULL,
            cause text NOT NULL,
            body jsonb NOT NULL,
            at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX decisions_lead ON decisions (lead_id, id);
        CREATE TABLE config_versions (
            kind text NOT NULL,
            version integer NOT NULL,
            body jsonb NOT NULL,
            actor text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (kind, version)
        );
        CREATE TABLE assignment_state (
            team text PRIMARY KEY,
            last_index integer NOT NULL
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE assignment_state, config_versions, decisions, activities")
    op.execute("ALTER TABLE status_history DROP COLUMN reason_code")
    op.execute(
        "ALTER TABLE leads DROP COLUMN sales_input, DROP COLUMN decision, DROP COLUMN criteria_version,"
        " DROP COLUMN manual_override, DROP COLUMN disqualification_reason, DROP COLUMN stale_since"
    )
