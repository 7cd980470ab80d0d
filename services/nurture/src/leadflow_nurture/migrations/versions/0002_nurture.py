"""Tracks as versioned rows, enrollments, the touch schedule, consent and archives.

Revision ID: 0002
"""

import json

from alembic import op

from leadflow_nurture.domain.tracks import DEFAULT_TRACKS
from leadflow_shared.migrations import execute_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script(
        """
        CREATE TABLE tracks (
            name text NOT NULL,
            version int NOT NULL,
            definition jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (name, version)
        );
        CREATE TABLE track_sets (
            version bigserial PRIMARY KEY,
            tracks jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE enrollments (
            id uuid PRIMARY KEY,
            seq bigserial NOT NULL UNIQUE,
            lead_id uuid NOT NULL,
            track text NOT NULL,
            track_version int NOT NULL,
            source text NOT NULL,
            status text NOT NULL DEFAULT 'active',
            started_at timestamptz NOT NULL,
            engagement_points int NOT NULL DEFAULT 0,
            last_engaged_at timestamptz,
            touches_sent int NOT NULL DEFAULT 0,
            touches_skipped int NOT NULL DEFAULT 0,
            last_touch_at timestamptz,
            exhaust_at timestamptz,
            ended_at timestamptz,
            end_reason text,
            exhausted_next text,
            next_track text
        );
        CREATE UNIQUE INDEX enrollments_one_active ON enrollments (lead_id) WHERE status = 'active';
        CREATE INDEX enrollments_lead ON enrollments (lead_id, seq);
        CREATE INDEX enrollments_track_status ON enrollments (track, status, seq);
        CREATE INDEX enrollments_status ON enrollments (status, seq);
        CREATE INDEX enrollments_exhaust_at ON enrollments (exhaust_at)
            WHERE status = 'active' AND exhaust_at IS NOT NULL;
        CREATE TABLE touches (
            id bigserial PRIMARY KEY,
            enrollment_id uuid NOT NULL REFERENCES enrollments (id),
            lead_id uuid NOT NULL,
            step int NOT NULL,
            channel text NOT NULL,
            content_ref text NOT NULL,
            due_at timestamptz NOT NULL,
            status text NOT NULL DEFAULT 'due',
            attempts int NOT NULL DEFAULT 0,
            last_error text,
            done_at timestamptz,
            UNIQUE (enrollment_id, step)
        );
        CREATE INDEX touches_due ON touches (due_at) WHERE status = 'due';
        CREATE INDEX touches_lead ON touches (lead_id, id);
        CREATE TABLE consent (
            lead_id uuid NOT NULL,
            channel text NOT NULL,
            opted_in boolean NOT NULL,
            reason text NOT NULL,
            changed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (lead_id, channel)
        );
        CREATE TABLE archives (
            lead_id uuid PRIMARY KEY,
            reason text NOT NULL,
            explanation text NOT NULL,
            archived_at timestamptz NOT NULL DEFAULT now(),
            reversed_at timestamptz
        );
        """
    )
    names = [[track.name, 1] for track in DEFAULT_TRACKS.tracks]
    for track in DEFAULT_TRACKS.tracks:
        definition = json.dumps(track.model_dump(mode="json", exclude={"version"})).replace("'", "''")
        op.execute(
            "INSERT INTO tracks (name, version, definition)"
            f" VALUES ('{track.name}', 1, '{definition}'::jsonb)"
        )
    op.execute(f"INSERT INTO track_sets (tracks) VALUES ('{json.dumps(names)}'::jsonb)")


def downgrade() -> None:
    op.execute("DROP TABLE archives, consent, touches, enrollments, track_sets, tracks")
