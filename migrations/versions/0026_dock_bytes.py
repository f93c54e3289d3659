"""The dock screen's progress by bytes: how many bytes the camera holds and how many of
them the dock has dealt with (copied, or known already), so a 600 MB file shows its time
left rather than "file 1/1".

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dock_sessions", sa.Column("bytes_total", sa.BigInteger(), nullable=True))
    op.add_column("dock_sessions", sa.Column("bytes_seen", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("dock_sessions") as batch:
        batch.drop_column("bytes_seen")
        batch.drop_column("bytes_total")
