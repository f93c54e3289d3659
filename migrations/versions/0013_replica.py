"""The write-once replica: for each recording, the OCFL version last copied to the bucket
and proven there (every file read back with its SHA-256), and until when Object Lock keeps it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replicas",
        sa.Column("recording_id", sa.String(64), sa.ForeignKey("recordings.id", name="fk_replicas_recording"),
                  primary_key=True),
        sa.Column("head", sa.String(16), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("retain_until", UTCDateTime(), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("replicated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("replicas")
