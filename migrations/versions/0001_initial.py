"""Initial schema: devices, dock sessions, recordings, source files, incidents, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("serial", sa.String(128), nullable=False),
        sa.Column("model", sa.String(128)),
        sa.Column("profile", sa.String(64)),
        sa.Column("owner_badge", sa.String(64)),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.UniqueConstraint("serial", name="uq_devices_serial"),
    )
    op.create_table(
        "dock_sessions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("dock", sa.String(128), nullable=False),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id", name="fk_dock_sessions_device_id_devices")),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("files_seen", sa.Integer(), nullable=False),
        sa.Column("files_ingested", sa.Integer(), nullable=False),
        sa.Column("files_duplicate", sa.Integer(), nullable=False),
        sa.Column("files_damaged", sa.Integer(), nullable=False),
        sa.Column("files_skipped", sa.Integer(), nullable=False),
        sa.Column("files_failed", sa.Integer(), nullable=False),
        sa.Column("bytes_ingested", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dock_sessions"),
    )
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("sm3", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("object_id", sa.String(96), nullable=False),
        sa.Column("content_name", sa.Text(), nullable=False),
        sa.Column("original_name", sa.Text(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id", name="fk_recordings_device_id_devices")),
        sa.Column("dock_session_id", sa.String(32), sa.ForeignKey("dock_sessions.id", name="fk_recordings_dock_session_id_dock_sessions"), nullable=False),
        sa.Column("badge", sa.String(64)),
        sa.Column("important", sa.Boolean(), nullable=False),
        sa.Column("start", UTCDateTime()),
        sa.Column("end", UTCDateTime()),
        sa.Column("duration_s", sa.Float()),
        sa.Column("time_source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("damage_reason", sa.Text()),
        sa.Column("name_conflict", sa.Boolean(), nullable=False),
        sa.Column("probe", sa.JSON(), nullable=False),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recordings"),
        sa.UniqueConstraint("object_id", name="uq_recordings_object_id"),
    )
    op.create_index("ix_recordings_device_id", "recordings", ["device_id"])
    op.create_index("ix_recordings_start", "recordings", ["start"])
    op.create_table(
        "source_files",
        sa.Column("id", BigId, nullable=False),
        sa.Column("dock_session_id", sa.String(32), sa.ForeignKey("dock_sessions.id", name="fk_source_files_dock_session_id_dock_sessions"), nullable=False),
        sa.Column("device_key", sa.String(255), nullable=False),
        sa.Column("rel_path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger()),
        sa.Column("mtime_ns", sa.BigInteger()),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("recording_id", sa.String(64), sa.ForeignKey("recordings.id", name="fk_source_files_recording_id_recordings")),
        sa.Column("code", sa.String(40)),
        sa.Column("reason", sa.Text()),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_source_files"),
    )
    op.create_index("ix_source_files_lookup", "source_files", ["device_key", "rel_path"])
    op.create_index("ix_source_files_dock_session_id", "source_files", ["dock_session_id"])
    op.create_index("ix_source_files_recording_id", "source_files", ["recording_id"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("recording_id", sa.String(64), sa.ForeignKey("recordings.id", name="fk_incidents_recording_id_recordings")),
        sa.Column("dock_session_id", sa.String(32), sa.ForeignKey("dock_sessions.id", name="fk_incidents_dock_session_id_dock_sessions")),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("explanation", sa.Text()),
        sa.Column("explained_by", sa.String(64)),
        sa.Column("explained_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    op.create_index("ix_incidents_recording_id", "incidents", ["recording_id"])
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("dock", sa.String(128), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_action", "audit_events", ["action"])
    op.create_index("ix_audit_events_subject_id", "audit_events", ["subject_id"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64, "signature": ""}])


def downgrade() -> None:
    for table in ("audit_head", "audit_events", "incidents", "source_files", "recordings", "dock_sessions", "devices"):
        op.drop_table(table)
