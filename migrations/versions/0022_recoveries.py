"""What was recovered from a damaged recording: the derivative's digest and size, the
healthy recording of the same camera it followed, how long it runs (the timeline's span
of the clip), and how it was made; or why nothing was, or could not yet be, recovered.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

STATES = {("recoveries", "status"): ("recovered", "waiting_reference", "nothing_recoverable", "failed")}


def upgrade() -> None:
    allowed = ", ".join(f"'{v}'" for v in STATES[("recoveries", "status")])
    op.create_table(
        "recoveries",
        sa.Column("recording_id", sa.String(64), sa.ForeignKey("recordings.id"), primary_key=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("reference_id", sa.String(64), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("span_s", sa.Float(), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("made_at", UTCDateTime(), nullable=False),
        # Both databases: a new table needs no batch copy to carry its CHECK.
        sa.CheckConstraint(f"status in ({allowed})", name=op.f("ck_recoveries_status")),
    )


def downgrade() -> None:
    op.drop_table("recoveries")
