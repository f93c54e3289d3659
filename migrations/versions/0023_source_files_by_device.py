"""What a camera delivered before is looked up by the camera (and the files that became
recordings), not by the path text: PostgreSQL's b-tree refuses an index entry over 2704
bytes, and a camera's path can be longer than that (PATH_MAX is 4096 bytes, and deeper
trees are taken too), which made the whole dock fail on one deep file.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_source_files_lookup", table_name="source_files")
    op.create_index("ix_source_files_delivered", "source_files", ["device_key", "recording_id"])


def downgrade() -> None:
    op.drop_index("ix_source_files_delivered", table_name="source_files")
    op.create_index("ix_source_files_lookup", "source_files", ["device_key", "rel_path"])
