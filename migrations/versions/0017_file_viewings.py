"""Every viewing of a recording's video and pictures is audited (002 第19条): this table says
when a session's viewing of one kind of file was last written to the audit log, so a player's
many Range requests make one entry per viewing, not one per request and not none.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "file_viewings",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("recording_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("audited_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("file_viewings")
