"""The daily rollup counts the recordings without 证明对象, so that a report under a policy
where every stored recording needs it (000 第31条) sums the rollup instead of reading a
year of recordings. Rows from before stay empty (NULL) until their days are recomputed; the
report counts from the recordings where it meets one.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compliance_daily") as batch:
        batch.add_column(sa.Column("no_proves", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("compliance_daily") as batch:
        batch.drop_column("no_proves")
