"""One officer's recordings read off an index of their own: the console's officer filter on a
year of a unit read the month's recordings of everyone and kept that officer's (PostgreSQL
took 150 ms for it).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_recording_compliance_officer_made", "recording_compliance", ["officer_badge", "made_at"])


def downgrade() -> None:
    op.drop_index("ix_recording_compliance_officer_made", "recording_compliance")
