"""Timeline: camera clock per dock session, corrected recording times, gaps.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dock_sessions") as batch:
        batch.add_column(sa.Column("camera_clock_at", UTCDateTime()))
        batch.add_column(sa.Column("host_clock_at", UTCDateTime()))
        batch.add_column(sa.Column("clock_offset_s", sa.Float()))
        batch.add_column(sa.Column("clock_source", sa.String(16)))
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("start_corrected", UTCDateTime()))
        batch.add_column(sa.Column("end_corrected", UTCDateTime()))
        batch.add_column(sa.Column("clock_flag", sa.String(16)))
        batch.add_column(sa.Column("seq", sa.String(32)))
    op.create_table(
        "gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id", name="fk_gaps_device_id_devices")),
        sa.Column("before_recording_id", sa.String(64), sa.ForeignKey("recordings.id", name="fk_gaps_before_recording_id_recordings"), nullable=False),
        sa.Column("after_recording_id", sa.String(64), sa.ForeignKey("recordings.id", name="fk_gaps_after_recording_id_recordings")),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("end", UTCDateTime(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("suggested_reason", sa.String(24)),
        sa.Column("reason", sa.String(24)),
        sa.Column("explanation", sa.String(8)),
        sa.Column("voice_at_s", sa.Float()),
        sa.Column("note", sa.Text()),
        sa.Column("explained_by", sa.String(64)),
        sa.Column("explained_at", UTCDateTime()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("voice_hint", sa.JSON()),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gaps"),
        sa.UniqueConstraint("key", name="uq_gaps_key"),
    )
    op.create_index("ix_gaps_device_id", "gaps", ["device_id"])
    op.create_index("ix_gaps_before_recording_id", "gaps", ["before_recording_id"])
    op.create_index("ix_gaps_start", "gaps", ["start"])
    op.create_index("ix_gaps_status", "gaps", ["status"])


def downgrade() -> None:
    op.drop_table("gaps")
    with op.batch_alter_table("recordings") as batch:
        for col in ("seq", "clock_flag", "end_corrected", "start_corrected"):
            batch.drop_column(col)
    with op.batch_alter_table("dock_sessions") as batch:
        for col in ("clock_source", "clock_offset_s", "host_clock_at", "camera_clock_at"):
            batch.drop_column(col)
