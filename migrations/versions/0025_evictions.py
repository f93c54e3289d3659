"""The dock's disk as a window onto the bucket: when each copy in the bucket was last read
back in full and matched (SHA-256, file by file), and which originals left the disk for the
bucket alone.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

STATES = {("evictions", "state"): ("leaving", "in_bucket", "returning")}


def upgrade() -> None:
    op.add_column("replicas", sa.Column("proven_at", UTCDateTime(), nullable=True))
    op.add_column("replicas", sa.Column("proven_head", sa.String(16), nullable=True))
    allowed = ", ".join(f"'{v}'" for v in STATES[("evictions", "state")])
    op.create_table(
        "evictions",
        sa.Column("recording_id", sa.String(64), sa.ForeignKey("recordings.id", name="fk_evictions_recording"),
                  primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("head", sa.String(16), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("dock", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(f"state in ({allowed})", name=op.f("ck_evictions_state")),
    )
    op.create_index("ix_evictions_state", "evictions", ["state"])


def downgrade() -> None:
    op.drop_index("ix_evictions_state", table_name="evictions")
    op.drop_table("evictions")
    with op.batch_alter_table("replicas") as batch:
        batch.drop_column("proven_head")
        batch.drop_column("proven_at")
