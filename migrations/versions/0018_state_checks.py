"""Each state column accepts only its set's values (ingestd/db/states.py): on PostgreSQL a CHECK
constraint per column, so no process or hand-written statement can store a state the code does
not know (two sets had already drifted from their comments). SQLite keeps the columns as they
are: the models refuse any other value on the way in, and adding a CHECK there would rebuild
every table.

The values are written out here as they stand at this revision: a later revision that adds a
state changes its constraint in a migration of its own.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

STATES = {
    ("dock_sessions", "status"): ("running", "released", "interrupted", "finished", "rebuilt"),
    ("dock_sessions", "device_source"): ("given", "usb", "file_names", "folder_name"),
    ("dock_sessions", "clock_source"): ("camera", "newest_file", "none"),
    ("recordings", "kind"): ("video", "audio", "photo", "sidecar"),
    ("recordings", "time_source"): ("filename", "container", "mtime", "none"),
    ("recordings", "clock_flag"): ("clock_reset", "backwards"),
    ("recordings", "status"): ("ok", "damaged", "deleted"),
    ("source_files", "outcome"): ("ingested", "duplicate", "damaged", "skipped", "failed"),
    ("incidents", "status"): ("open", "closed"),
    ("shifts", "assignment"): ("regular", "continuous", "offsite", "remote"),
    ("shifts", "status"): ("pending", "met", "late", "overdue", "no_recording", "undetermined"),
    ("recording_compliance", "officer_source"): ("roster", "device_owner", "file_name", "none"),
    ("recording_compliance", "upload_status"): ("on_time", "late", "undetermined"),
    ("gaps", "kind"): ("between_clips", "inside_file", "at_damaged_file", "at_storage_full"),
    ("gaps", "explanation"): ("voice", "written"),
    ("gaps", "status"): ("open", "explained", "superseded"),
    ("users", "role"): ("officer", "team_head", "legal", "admin", "auditor"),
    ("web_sessions", "kind"): ("password", "pin"),
    ("cases", "status"): ("open", "ended"),
    ("access_requests", "action"): ("view", "export"),
    ("access_requests", "status"): ("pending", "approved", "denied"),
    ("deletions", "status"): ("pending", "done", "refused"),
    ("alert_deliveries", "status"): ("pending", "sending", "sent", "failed"),
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for (table, column), values in STATES.items():
        allowed = ", ".join(f"'{v}'" for v in values)
        stray = bind.execute(sa.text(f"select distinct {column} from {table} where {column} not in ({allowed})"))\
            .scalars().all()
        if stray:
            raise RuntimeError(f"{table}.{column} holds values no release wrote: {', '.join(map(str, stray))}; "
                               f"correct those rows, then run `ingestd db upgrade` again")
        op.create_check_constraint(op.f(f"ck_{table}_{column}"), table, f"{column} in ({allowed})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in STATES:
        op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check")
