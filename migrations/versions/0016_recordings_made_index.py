"""Recordings read in the order they were made (制作时间: the corrected camera time, else the
camera's own): the console listed and filtered them by the camera's uncorrected start, so a
report figure's link could list other recordings than it counted where a camera's clock was off.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

MADE = sa.text("coalesce(start_corrected, start)")


def upgrade() -> None:
    op.create_index("ix_recordings_made", "recordings", [MADE])
    op.create_index("ix_recordings_device_made", "recordings", ["device_id", MADE])


def downgrade() -> None:
    op.drop_index("ix_recordings_device_made", "recordings")
    op.drop_index("ix_recordings_made", "recordings")
