"""Roster (officers, imports, shifts) and derived recording compliance.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Per-camera time lookups: which recordings fall in a shift, when a camera next docked.
    op.create_index("ix_recordings_device_start", "recordings", ["device_id", "start"])
    op.create_index("ix_dock_sessions_device_started", "dock_sessions", ["device_id", "started_at"])
    op.create_table(
        "officers",
        sa.Column("badge", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("cert_no", sa.String(64)),
        sa.Column("team", sa.String(64)),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("badge", name="pk_officers"),
    )
    op.create_table(
        "roster_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("teams", sa.JSON(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("imported_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roster_imports"),
    )
    op.create_table(
        "shifts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("roster_imports.id", name="fk_shifts_import_id_roster_imports"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("badge", sa.String(32), sa.ForeignKey("officers.badge", name="fk_shifts_badge_officers"), nullable=False),
        sa.Column("team", sa.String(64)),
        sa.Column("shift_start", UTCDateTime(), nullable=False),
        sa.Column("shift_end", UTCDateTime(), nullable=False),
        sa.Column("assignment", sa.String(16), nullable=False),
        sa.Column("returned_at", UTCDateTime()),
        sa.Column("camera", sa.String(128)),
        sa.Column("deadline", UTCDateTime()),
        sa.Column("deadline_rule", sa.String(32)),
        sa.Column("article", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_shifts"),
    )
    op.create_index("ix_shifts_import_id", "shifts", ["import_id"])
    op.create_index("ix_shifts_day", "shifts", ["day"])
    op.create_index("ix_shifts_camera_start", "shifts", ["camera", "shift_start"])
    op.create_index("ix_shifts_badge_start", "shifts", ["badge", "shift_start"])
    op.create_table(
        "recording_compliance",
        sa.Column("recording_id", sa.String(64), sa.ForeignKey("recordings.id", name="fk_recording_compliance_recording_id_recordings"), nullable=False),
        sa.Column("officer_badge", sa.String(32)),
        sa.Column("officer_source", sa.String(16), nullable=False),
        sa.Column("team", sa.String(64)),
        sa.Column("shift_id", BigId, sa.ForeignKey("shifts.id", name="fk_recording_compliance_shift_id_shifts")),
        sa.Column("deadline", UTCDateTime()),
        sa.Column("deadline_rule", sa.String(32)),
        sa.Column("article", sa.String(32)),
        sa.Column("upload_status", sa.String(16), nullable=False),
        sa.Column("late_by_s", sa.Float()),
        sa.Column("off_duty", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("recording_id", name="pk_recording_compliance"),
    )
    op.create_index("ix_recording_compliance_officer_badge", "recording_compliance", ["officer_badge"])
    op.create_index("ix_recording_compliance_team", "recording_compliance", ["team"])
    op.create_index("ix_recording_compliance_upload_status", "recording_compliance", ["upload_status"])


def downgrade() -> None:
    for table in ("recording_compliance", "shifts", "roster_imports", "officers"):
        op.drop_table(table)
    op.drop_index("ix_dock_sessions_device_started", "dock_sessions")
    op.drop_index("ix_recordings_device_start", "recordings")
