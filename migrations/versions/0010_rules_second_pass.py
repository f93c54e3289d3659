"""Compliance, second pass: what each export put on a disc with which 证明对象, what a camera
still held that the store had (不得自行保管), and the 录音内容 note of evidence.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "export_items",
        sa.Column("id", BigId, nullable=False),
        sa.Column("export_id", sa.Integer(), sa.ForeignKey("exports.id", name="fk_export_items_export_id_exports"),
                  nullable=False),
        sa.Column("recording_id", sa.String(64),
                  sa.ForeignKey("recordings.id", name="fk_export_items_recording_id_recordings"), nullable=False),
        sa.Column("disc", sa.Boolean(), nullable=False),
        sa.Column("proves", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_export_items"),
    )
    op.create_index("ix_export_items_export_id", "export_items", ["export_id"])
    op.create_index("ix_export_items_recording", "export_items", ["recording_id", "disc"])
    with op.batch_alter_table("dock_sessions") as batch:
        batch.add_column(sa.Column("camera_kept_files", sa.Integer()))
        batch.add_column(sa.Column("camera_kept_oldest", UTCDateTime()))
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("content_note", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("content_note")
    with op.batch_alter_table("dock_sessions") as batch:
        batch.drop_column("camera_kept_oldest")
        batch.drop_column("camera_kept_files")
    op.drop_table("export_items")
