"""A team head acts on an overdue shift: an excuse with its reason (the shift is `excused`,
listed in the report with the reason, no longer escalated) and the 返回单位时间 of a trip the
roster gave none. Both kept by officer and day, apart from the shifts, so a roster re-import
keeps them.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

SHIFT_STATES = ("pending", "met", "late", "overdue", "no_recording", "undetermined")
# The state sets this revision changes (revision 0018 froze the others).
STATES = {("shifts", "status"): SHIFT_STATES + ("excused",)}


def _status_check(values: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the models refuse a value outside the set (revision 0018)
    name = op.f("ck_shifts_status")
    op.drop_constraint(name, "shifts", type_="check")
    allowed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint(name, "shifts", f"status in ({allowed})")


def upgrade() -> None:
    op.create_table(
        "trip_returns",
        sa.Column("badge", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("returned_at", UTCDateTime(), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "shift_excuses",
        sa.Column("badge", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("excused_by", sa.String(64), nullable=False),
        sa.Column("excused_at", UTCDateTime(), nullable=False),
    )
    _status_check(STATES[("shifts", "status")])


def downgrade() -> None:
    # The older release knows no excuse: the shift is overdue again, which it is.
    op.execute("update shifts set status = 'overdue' where status = 'excused'")
    _status_check(SHIFT_STATES)
    op.drop_table("shift_excuses")
    op.drop_table("trip_returns")
