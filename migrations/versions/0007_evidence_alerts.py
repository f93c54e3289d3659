"""Evidence metadata, cases, legal holds, access requests, exports, deletions, users;
alerts and their deliveries.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKey:
    ref_table = target.split(".")[0]
    return sa.ForeignKey(target, name=f"fk_{table}_{column}_{ref_table}")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("badge", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("team", sa.String(64)),
        sa.Column("email", sa.String(255)),
        sa.Column("mobile", sa.String(32)),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("badge", name="pk_users"),
    )
    op.create_index("ix_users_team", "users", ["team"])
    op.create_table(
        "cases",
        sa.Column("case_no", sa.String(64), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("team", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ended_on", sa.Date()),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("case_no", name="pk_cases"),
    )
    op.create_table(
        "evidence",
        sa.Column("recording_id", sa.String(64), _fk("evidence", "recording_id", "recordings.id"), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("made_from", UTCDateTime()),
        sa.Column("made_to", UTCDateTime()),
        sa.Column("maker", sa.Text()),
        sa.Column("maker_badge", sa.String(32)),
        sa.Column("proves", sa.Text()),
        sa.Column("case_no", sa.String(64), _fk("evidence", "case_no", "cases.case_no")),
        sa.Column("long_term", sa.String(64)),
        sa.Column("entered_by", sa.String(64)),
        sa.Column("entered_at", UTCDateTime()),
        sa.Column("object_version", sa.String(16)),
        sa.Column("exported_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("recording_id", name="pk_evidence"),
    )
    op.create_index("ix_evidence_case_no", "evidence", ["case_no"])
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(64), _fk("legal_holds", "recording_id", "recordings.id")),
        sa.Column("case_no", sa.String(64), _fk("legal_holds", "case_no", "cases.case_no")),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(64), nullable=False),
        sa.Column("placed_at", UTCDateTime(), nullable=False),
        sa.Column("released_by", sa.String(64)),
        sa.Column("released_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_legal_holds"),
    )
    op.create_index("ix_legal_holds_recording_id", "legal_holds", ["recording_id"])
    op.create_index("ix_legal_holds_case_no", "legal_holds", ["case_no"])
    op.create_table(
        "access_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester", sa.String(32), nullable=False),
        sa.Column("recording_id", sa.String(64), _fk("access_requests", "recording_id", "recordings.id"),
                  nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(32)),
        sa.Column("decided_at", UTCDateTime()),
        sa.Column("valid_until", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_access_requests"),
    )
    op.create_index("ix_access_requests_requester", "access_requests", ["requester"])
    op.create_index("ix_access_requests_recording_id", "access_requests", ["recording_id"])
    op.create_table(
        "exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(64), _fk("exports", "case_no", "cases.case_no")),
        sa.Column("recording_ids", sa.JSON(), nullable=False),
        sa.Column("out_dir", sa.Text(), nullable=False),
        sa.Column("volumes", sa.JSON(), nullable=False),
        sa.Column("by", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exports"),
    )
    op.create_index("ix_exports_case_no", "exports", ["case_no"])
    op.create_table(
        "deletions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(64), _fk("deletions", "recording_id", "recordings.id"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(32), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(32)),
        sa.Column("decided_at", UTCDateTime()),
        sa.Column("object_version", sa.String(16)),
        sa.PrimaryKeyConstraint("id", name="pk_deletions"),
    )
    op.create_index("ix_deletions_recording_id", "deletions", ["recording_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("key", name="uq_alerts_key"),
    )
    op.create_index("ix_alerts_raised_at", "alerts", ["raised_at"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), _fk("alert_deliveries", "alert_id", "alerts.id"), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.Column("sent_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_alert_deliveries"),
        sa.UniqueConstraint("alert_id", "channel", name="uq_alert_deliveries_alert_id_channel"),
    )
    op.create_index("ix_alert_deliveries_status_next", "alert_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    for table in ("alert_deliveries", "alerts", "deletions", "exports", "access_requests", "legal_holds",
                  "evidence", "cases", "users"):
        op.drop_table(table)
