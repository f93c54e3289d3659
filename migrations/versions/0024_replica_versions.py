"""Which version of each key in the replica bucket is the one the dock wrote and proved:
Object Lock keeps versions, and anyone with the bucket's credentials can put a newer,
unlocked one over a key (or a delete marker). A restore takes the version recorded here,
never simply the newest.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replica_versions",
        sa.Column("recording_id", sa.String(64),
                  sa.ForeignKey("recordings.id", name="fk_replica_versions_recording"), primary_key=True),
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("version_id", sa.String(1024), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("replica_versions")
