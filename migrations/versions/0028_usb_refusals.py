"""USB volumes a dock would not take: anything that is not one of the unit's cameras (a U盘,
an SD card reader, a phone) and cameras of a known family whose serial no admin has
registered. Neither is mounted; each is kept here (by dock and device, counted each time it
is plugged in), shown on the dock screen and the cameras page, and alerted to the admins.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

STATES = {("usb_refusals", "reason"): ("not_a_camera", "not_registered")}


def upgrade() -> None:
    op.create_table(
        "usb_refusals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dock", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("serial", sa.String(128)),
        sa.Column("usb_id", sa.String(9)),
        sa.Column("label", sa.String(64)),
        sa.Column("profile", sa.String(64)),
        sa.Column("port", sa.String(255)),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
    )
    op.create_index("ix_usb_refusals_dock_last", "usb_refusals", ["dock", "last_at"])
    if op.get_bind().dialect.name == "postgresql":
        allowed = ", ".join(f"'{v}'" for v in STATES[("usb_refusals", "reason")])
        op.create_check_constraint(op.f("ck_usb_refusals_reason"), "usb_refusals", f"reason in ({allowed})")


def downgrade() -> None:
    op.drop_index("ix_usb_refusals_dock_last", "usb_refusals")
    op.drop_table("usb_refusals")
