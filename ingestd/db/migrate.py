"""Bring a database to the newest schema with Alembic (never `create_all`).

An SQLite database that is about to change is copied first (SQLite's online backup
API), so a failed migration can be undone by putting the copy back. The copy is written
under a hidden temporary name, flushed, opened and checked (the pages whole, the same tables,
the revision it was taken at) and only then renamed to the `ingestd-<revision>-<time>.db`
an admin would restore from: a copy cut short by a power cut or a kill is never a file
named like a backup, and the next upgrade removes it.

Every command asks whether the schema is at head before it starts; that question is answered
without Alembic (the version table read with one query, the head read off the revision files'
own `revision`/`down_revision` lines), so a listing does not load Alembic and every migration
module. A test holds the answer to Alembic's own.
"""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from sqlalchemy import inspect, text

from ingestd import failpoints
from ingestd.db.engine import Database
from ingestd.durable import fsync_dir
from ingestd.errors import IngestdError, UserError
from ingestd.resources import resource_dir


if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "alembic_version"
PARTIAL_BACKUP = ".partial"  # the suffix of a backup not yet checked (with SQLite's -journal beside it)
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
    if backup_dir is not None:
        sweep_partial_backups(backup_dir)
    if current is not None and current != head_revision() and db.is_sqlite and backup_dir is not None:
        backup = _backup_sqlite(db, backup_dir, current)
    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return backup


@dataclass(frozen=True)
class Backup:
    path: str | None  # the backup made, or None with a note saying why there is none
    note: str | None = None

    def as_dict(self) -> dict:
        return {"backup": self.path, "note": self.note}


def backup(db: Database, backup_dir: Path) -> Backup:
    """A backup now (`ingestd db backup`; the package takes one before every upgrade): SQLite
    copied and checked as before a migration, a PostgreSQL on this machine dumped with
    pg_dump, a remote one left to its server with a note that says so."""
    from ingestd.db import pg_dump

    sweep_partial_backups(backup_dir)
    revision = current_revision(db) or "none"
    if db.is_sqlite:
        return Backup(_backup_sqlite(db, backup_dir, revision))
    url = db.engine.url
    if not pg_dump.is_local(url):
        return Backup(None, f"the database is on {url.host}, not this machine: back it up there with the server's "
                            f"own tools (pg_dump, its backup schedule)")
    if not pg_dump.available():
        return Backup(None, "pg_dump is not installed (Debian package postgresql-client): no backup was taken")
    return Backup(_named_when_whole(backup_dir, revision, ".pgdump", lambda partial: pg_dump.dump(url, partial)))


def sweep_partial_backups(backup_dir: Path) -> list[Path]:
    """Remove the copies an earlier upgrade began and never finished (and their journals)."""
    if not backup_dir.is_dir():
        return []
    gone = [p for p in backup_dir.iterdir() if p.name.startswith(".") and PARTIAL_BACKUP in p.name]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def _backup_sqlite(db: Database, backup_dir: Path, revision: str) -> str:
    source = db.engine.url.database
    if not source:
        raise IngestdError("an SQLite database without a file cannot be backed up before upgrading")
    tables: set[str] = set()

    def copy(partial: Path) -> None:
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
            dst.execute("pragma journal_mode=delete")  # one self-contained file, no -wal/-shm beside it
            tables.update(_tables(src))
        failpoints.hit("db.backup_copied")

    return _named_when_whole(backup_dir, revision, ".db", copy,
                             check=lambda partial: _check_backup(partial, tables, revision))


def _named_when_whole(backup_dir: Path, revision: str, suffix: str, write: Callable[[Path], None],
                      check: Callable[[Path], None] | None = None) -> str:
    """`write` makes the backup under a hidden temporary name; flushed and checked, only then
    is it named `ingestd-<revision>-<time><suffix>`. Anything cut short is swept away."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = backup_dir / f"ingestd-{revision}-{stamp}{suffix}"
    partial = backup_dir / f".{target.name}{PARTIAL_BACKUP}"
    try:
        write(partial)
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if check is not None:
            check(partial)
        os.replace(partial, target)
        fsync_dir(backup_dir)
    except BaseException:
        sweep_partial_backups(backup_dir)
        raise
    return str(target)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}


def _check_backup(path: Path, tables: set[str], revision: str) -> None:
    """The copy opens, its pages are whole, and it holds what the database held."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as copy:
            checked = copy.execute("pragma quick_check").fetchone()[0]
            held = _tables(copy)
            version = copy.execute(f"select version_num from {VERSION_TABLE}").fetchone()
    except sqlite3.DatabaseError as exc:
        raise IngestdError(f"the copy of the database taken before upgrading does not open ({exc}): "
                           f"nothing was upgraded") from exc
    if checked != "ok" or held != tables or version is None or version[0] != revision:
        raise IngestdError(f"the copy of the database taken before upgrading did not check out "
                           f"(quick_check {checked!r}, {len(held)} of {len(tables)} tables, revision "
                           f"{version[0] if version else None!r}): nothing was upgraded")
