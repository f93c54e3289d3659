"""Report: recording facts copied into recording_compliance, the daily rollup, and the
structured facts of incidents (for alerts worded in Chinese).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("facts", sa.JSON()))
    with op.batch_alter_table("recording_compliance") as batch:
        batch.add_column(sa.Column("made_at", UTCDateTime()))
        batch.add_column(sa.Column("duration_s", sa.Float()))
        batch.add_column(sa.Column("damaged", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("uploaded_at", UTCDateTime()))
    op.create_index("ix_recording_compliance_status_made", "recording_compliance",
                    ["upload_status", "made_at", "team", "officer_badge", "late_by_s", "recording_id"])
    op.create_index("ix_recording_compliance_off_duty_made", "recording_compliance", ["off_duty", "made_at"])
    op.create_index("ix_recording_compliance_made", "recording_compliance", ["made_at"])
    op.create_table(
        "compliance_daily",
        sa.Column("made_day", sa.Date(), nullable=False),
        sa.Column("upload_day", sa.Date(), nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("officer_badge", sa.String(32), nullable=False),
        sa.Column("recordings", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("undetermined", sa.Integer(), nullable=False),
        sa.Column("off_duty", sa.Integer(), nullable=False),
        sa.Column("damaged", sa.Integer(), nullable=False),
        sa.Column("late_buckets", sa.JSON(), nullable=False),
        sa.Column("late_max_s", sa.Float()),
        sa.PrimaryKeyConstraint("made_day", "upload_day", "team", "officer_badge", name="pk_compliance_daily"),
    )
    op.create_index("ix_compliance_daily_upload_day", "compliance_daily", ["upload_day"])
    # Copy the facts for rows that exist (portable correlated updates); the rollup needs the
    # unit's timezone, so it is built by `ingestd compliance recompute`, which the report asks for.
    rec = sa.table("recordings", sa.column("id"), sa.column("start"), sa.column("start_corrected"),
                   sa.column("duration_s"), sa.column("status"), sa.column("ingested_at"))
    rc = sa.table("recording_compliance", sa.column("recording_id"), sa.column("made_at"), sa.column("duration_s"),
                  sa.column("damaged"), sa.column("uploaded_at"))
    match = rec.c.id == rc.c.recording_id
    op.execute(rc.update().values(
        made_at=sa.select(sa.func.coalesce(rec.c.start_corrected, rec.c.start)).where(match).scalar_subquery(),
        duration_s=sa.select(rec.c.duration_s).where(match).scalar_subquery(),
        damaged=sa.select(rec.c.status == "damaged").where(match).scalar_subquery(),
        uploaded_at=sa.select(rec.c.ingested_at).where(match).scalar_subquery()))


def downgrade() -> None:
    op.drop_table("compliance_daily")
    op.drop_index("ix_recording_compliance_made", "recording_compliance")
    op.drop_index("ix_recording_compliance_off_duty_made", "recording_compliance")
    op.drop_index("ix_recording_compliance_status_made", "recording_compliance")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("facts")
    with op.batch_alter_table("recording_compliance") as batch:
        for column in ("uploaded_at", "damaged", "duration_s", "made_at"):
            batch.drop_column(column)
