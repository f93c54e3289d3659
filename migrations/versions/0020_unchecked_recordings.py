"""A recording whose structural check failed at the dock — the checker's failure, not the
file's — is `unchecked` until the after-dock probe checks it again, never `damaged` for it
(a damaged file opens an incident asking for a written explanation, 002 第16条).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# The state sets this revision changes (revision 0018 froze the others).
STATES = {("recordings", "status"): ("ok", "damaged", "deleted", "unchecked")}


def _status_check(values: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the models refuse a value outside the set (revision 0018)
    name = op.f("ck_recordings_status")
    op.drop_constraint(name, "recordings", type_="check")
    allowed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint(name, "recordings", f"status in ({allowed})")


def upgrade() -> None:
    _status_check(STATES[("recordings", "status")])


def downgrade() -> None:
    # The older release knows no `unchecked`; its nearest state kept the file and said it could
    # not be read, which is what the older release would have said of these.
    op.execute("update recordings set status = 'damaged' where status = 'unchecked'")
    _status_check(("ok", "damaged", "deleted"))
