"""Bring a database to the newest schema with Alembic (never `create_all`).

An SQLite database that is about to change is copied first (SQLite's online backup
API), so a failed migration can be undone by putting the copy back.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ingestd.db.engine import Database
from ingestd.resources import resource_dir


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resource_dir("migrations")))
    return cfg


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade(db: Database, backup_dir: Path | None = None) -> str | None:
    """Upgrade to head. Returns the path of the backup taken, if any."""
    current = current_revision(db)
    backup = None
    if current is not None and current != head_revision() and db.is_sqlite and backup_dir is not None:
        backup = _backup_sqlite(db, backup_dir, current)
    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return backup


def _backup_sqlite(db: Database, backup_dir: Path, revision: str) -> str:
    source = db.engine.url.database
    assert source
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = backup_dir / f"ingestd-{revision}-{stamp}.db"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return str(target)
