"""Recording kind: video, audio, photo, or sidecar (camera logs kept beside recordings).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="video"))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("kind")
