"""Dock session details from USB docking: hub port and camera storage.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dock_sessions") as batch:
        batch.add_column(sa.Column("port", sa.String(255)))
        batch.add_column(sa.Column("files_total", sa.Integer()))
        batch.add_column(sa.Column("storage_total_bytes", sa.BigInteger()))
        batch.add_column(sa.Column("storage_free_bytes", sa.BigInteger()))


def downgrade() -> None:
    with op.batch_alter_table("dock_sessions") as batch:
        for col in ("storage_free_bytes", "storage_total_bytes", "files_total", "port"):
            batch.drop_column(col)
