"""Durable jobs: one table for after-dock work and derivatives (the media queue moves in);
SM3 computed after the dock; dock sessions record their release.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("payload", sa.JSON()),
        sa.Column("group_key", sa.String(64)),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", UTCDateTime()),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("worker", sa.String(128)),
        sa.Column("rerun", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("output", sa.JSON()),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.UniqueConstraint("key", name="uq_jobs_key"),
    )
    op.create_index("ix_jobs_status_priority", "jobs", ["status", "priority", "created_at"])
    op.create_index("ix_jobs_group_stage", "jobs", ["group_key", "stage"])
    op.create_index("ix_jobs_kind_subject", "jobs", ["kind", "subject"])
    # The media queue's jobs keep their state, attempts and outputs.
    op.execute(
        "INSERT INTO jobs (key, kind, subject, payload, group_key, stage, priority, status, attempts, max_attempts,"
        " not_before, lease_until, worker, rerun, error, output, partial, created_at, updated_at, finished_at) "
        "SELECT kind || ':' || recording_id, kind, recording_id, NULL, NULL, 0, priority + 10, status, attempts,"
        " max_attempts, NULL, lease_until, worker, false, error, output, partial, created_at, updated_at,"
        " CASE WHEN status IN ('done', 'failed') THEN updated_at END FROM media_jobs")
    op.drop_table("media_jobs")
    op.create_table(
        "rules_in_force",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("noted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_rules_in_force"),
    )
    with op.batch_alter_table("recordings") as batch:
        batch.alter_column("sm3", existing_type=sa.String(64), nullable=True)
    with op.batch_alter_table("dock_sessions") as batch:
        batch.add_column(sa.Column("released_at", UTCDateTime()))
        batch.add_column(sa.Column("device_source", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("dock_sessions") as batch:
        batch.drop_column("device_source")
        batch.drop_column("released_at")
    op.drop_table("rules_in_force")
    op.create_table(
        "media_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(64), sa.ForeignKey("recordings.id", name="fk_media_jobs_recording_id_recordings"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("worker", sa.String(128)),
        sa.Column("error", sa.Text()),
        sa.Column("output", sa.JSON()),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_media_jobs"),
        sa.UniqueConstraint("recording_id", "kind", name="uq_media_jobs_recording_id_kind"),
    )
    op.create_index("ix_media_jobs_status_priority", "media_jobs", ["status", "priority", "created_at"])
    op.execute(
        "INSERT INTO media_jobs (recording_id, kind, priority, status, attempts, max_attempts, lease_until, worker,"
        " error, output, partial, created_at, updated_at) SELECT subject, kind, priority - 10,"
        " CASE WHEN status = 'held' THEN 'queued' ELSE status END, attempts, max_attempts, lease_until, worker, error,"
        " output, partial, created_at, updated_at FROM jobs WHERE kind IN ('proxy', 'hls', 'thumbnails')")
    op.drop_index("ix_jobs_kind_subject", "jobs")
    op.drop_index("ix_jobs_group_stage", "jobs")
    op.drop_index("ix_jobs_status_priority", "jobs")
    op.drop_table("jobs")
