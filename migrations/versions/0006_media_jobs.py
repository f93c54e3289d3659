"""Media job queue: proxies, HLS segments, thumbnails.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
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


def downgrade() -> None:
    op.drop_table("media_jobs")
