"""Source file names kept as the bytes the camera holds, so that two names that display
alike (a literal "\\xff" and the byte 0xFF) are never taken for one another.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_files") as batch:
        batch.add_column(sa.Column("rel_path_raw", sa.LargeBinary()))


def downgrade() -> None:
    with op.batch_alter_table("source_files") as batch:
        batch.drop_column("rel_path_raw")
