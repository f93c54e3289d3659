"""Bring a database to the newest schema with Alembic (never `create_all`).

An SQLite database that is about to change is copied first (SQLite's online backup
API), so a failed migration can be undone by putting the copy back.

Every command asks whether the schema is at head before it starts; that question is answered
without Alembic (the version table read with one query, the head read off the revision files'
own `revision`/`down_revision` lines), so a listing does not load Alembic and every migration
module. A test holds the answer to Alembic's own.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from ingestd.db.engine import Database
from ingestd.errors import IngestdError, UserError
from ingestd.resources import resource_dir


if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "alembic_version"
_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*"([^"]*)"', re.M)


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resource_dir("migrations")))
    return cfg


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        versions = conn.execute(text(f"select version_num from {VERSION_TABLE}")).scalars().all()
    if len(versions) > 1:
        raise UserError(f"the database names {len(versions)} schema versions ({', '.join(versions)}); "
                        f"run `ingestd db upgrade`")
    return versions[0] if versions else None


def head_revision() -> str:
    """The one revision no other revises, read off the files in migrations/versions."""
    revised, revisions = set(), set()
    for path in (resource_dir("migrations") / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        revisions.add(found["revision"])
        if found.get("down_revision"):
            revised.add(found["down_revision"])
    heads = revisions - revised
    if len(heads) != 1:
        raise IngestdError(f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}): "
                           f"exactly one is needed")
    return heads.pop()


def upgrade(db: Database, backup_dir: Path | None = None) -> str | None:
    """Upgrade to head. Returns the path of the backup taken, if any."""
    from alembic import command

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
