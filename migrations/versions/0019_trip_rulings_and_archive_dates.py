"""Compliance, third pass. A team head's ruling that a trip's recordings could have been
stored in time (the return exception applies only where they 确实 could not: 000 第30条,
001 第25条, 002 第16条, 003 第41条, 004 第27条), kept by officer and day so that a roster
re-import keeps it. A case's real 归档 date, which retention counts from. A case's written
storage location (000 第32条, 004 第29条: 以书面文字形式载明其存储位置), the alternative to a disc.
An export's purpose (入卷 for the case file, or 对外提供), and an access request to provide a
copy outside the unit (002 第17条: 未经批准不得擅自对外提供).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


# The state sets this revision changes (revision 0018 froze the others).
STATES = {
    ("access_requests", "action"): ("view", "export", "provide"),
    ("exports", "purpose"): ("case_file", "provide"),
}


def upgrade() -> None:
    op.create_table(
        "trip_rulings",
        sa.Column("badge", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("could_store", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ruled_by", sa.String(64), nullable=False),
        sa.Column("ruled_at", UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("archived_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("archived_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("storage_location", sa.Text(), nullable=True))
    with op.batch_alter_table("exports") as batch:
        batch.add_column(sa.Column("purpose", sa.String(16), nullable=True))  # before this: the case file
    _check("access_requests", "action", STATES[("access_requests", "action")], replace=True)
    _check("exports", "purpose", STATES[("exports", "purpose")])


def _check(table: str, column: str, values: tuple[str, ...], replace: bool = False) -> None:
    """A state column's CHECK (PostgreSQL only, as in revision 0018)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    name = op.f(f"ck_{table}_{column}")
    if replace:
        op.drop_constraint(name, table, type_="check")
    allowed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint(name, table, f"{column} in ({allowed})")


def downgrade() -> None:
    _check("access_requests", "action", ("view", "export"), replace=True)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_exports_purpose"), "exports", type_="check")
    with op.batch_alter_table("exports") as batch:
        batch.drop_column("purpose")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("storage_location")
        batch.drop_column("archived_by")
        batch.drop_column("archived_on")
    op.drop_table("trip_rulings")
