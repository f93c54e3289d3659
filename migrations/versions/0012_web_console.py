"""The web console's people: passwords (Argon2id) and the dock screen's PIN on users, the
log-in sessions (opaque tokens, kept hashed) and the log-in attempts that throttling counts.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from ingestd.db.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(255)))
        batch.add_column(sa.Column("password_temporary", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("password_changed_at", UTCDateTime()))
        batch.add_column(sa.Column("pin_hash", sa.String(255)))
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("badge", sa.String(32), sa.ForeignKey("users.badge", name="fk_web_sessions_badge_users"),
                  nullable=False, index=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime()),
        sa.Column("address", sa.String(64)),
        sa.Column("kind", sa.String(16), nullable=False, server_default="password"),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("badge", sa.String(32), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_login_attempts_badge_at", "login_attempts", ["badge", "at"])
    op.create_index("ix_login_attempts_address_at", "login_attempts", ["address", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempts_address_at", "login_attempts")
    op.drop_index("ix_login_attempts_badge_at", "login_attempts")
    op.drop_table("login_attempts")
    op.drop_table("web_sessions")
    with op.batch_alter_table("users") as batch:
        for column in ("pin_hash", "password_changed_at", "password_temporary", "password_hash"):
            batch.drop_column(column)
