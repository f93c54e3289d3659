"""Engines and sessions for SQLite (embedded default) and PostgreSQL (shared by docks)."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ingestd.errors import ConfigError, DatabaseDamagedError, UserError

T = TypeVar("T")


def is_disk_full(exc: OperationalError) -> bool:
    """SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100) or ENOSPC underneath either."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == "53100":
        return True
    text = str(orig or exc).lower()
    return "database or disk is full" in text or "no space left on device" in text


TRANSIENT_SQLSTATES = {"57P01", "57P02", "57P03", "08000", "08003", "08006", "40001", "40P01"}


def is_transient(exc: BaseException) -> bool:
    """The database went away or was busy for a moment (a restarted server, a terminated or
    dropped connection, a serialization failure, SQLite locked past its busy timeout): the
    same transaction may simply be tried again."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    text = str(orig or exc).lower()
    # A server starting up, recovering or shutting down says so at connect time with no SQLSTATE
    # at all: "the database system is starting up / shutting down / in recovery mode / not yet
    # accepting connections".
    return any(t in text for t in ("database is locked", "server closed the connection", "connection refused",
                                   "terminating connection", "connection is closed", "consuming input failed",
                                   "the database system is "))


def again_when_transient(fn: Callable[[], T], wait_s: float, what: str, log=None) -> T:
    """Run `fn` (one whole transaction), running it again while the database is away for a
    moment, for at most `wait_s` seconds in all; then the last error stands."""
    deadline = time.monotonic() + wait_s
    delay = 0.2
    while True:
        try:
            return fn()
        except DBAPIError as exc:
            if not is_transient(exc) or time.monotonic() + delay > deadline:
                raise
            if log is not None:
                log(what, str(exc.orig or exc).splitlines()[0], delay)
            time.sleep(delay)  # back off before the next try
            delay = min(delay * 2, 5.0)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed ingest survives power loss; evidence is worth the fsync.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # Writers take the write lock up front: a deferred transaction that reads and then
        # writes can fail at once with SQLITE_BUSY instead of waiting its turn.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


@dataclass
class Database:
    engine: Engine

    @classmethod
    def open(cls, url: str, source: str = "") -> "Database":
        """An engine for `url`, refused with one line naming the setting (and where it was set)
        when the URL is not one ingestd can use."""
        where = f" ({source})" if source else ""
        try:
            parsed = make_url(url)
            db = cls(make_engine(url))
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            raise ConfigError(f"database_url {_shown(url)!r}{where} is not usable: {str(exc).splitlines()[0]} "
                              f"(use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)") from None
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise ConfigError(f"database_url {_shown(url)!r}{where}: ingestd keeps its data in SQLite or PostgreSQL, "
                              f"not {parsed.get_backend_name()}")
        return db

    def check(self, wait_s: float = 0.0) -> None:
        """Connect once, so that a database that cannot be reached is said in one line at the
        start rather than as a traceback from the middle of a command. A server that answers
        and then drops the connection (restarting, or its connections cut) is tried again for
        up to `wait_s`; one that refuses outright is reported at once."""
        def connect() -> None:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        def dropped(exc: OperationalError) -> bool:
            return is_transient(exc) and "connection refused" not in str(exc.orig or exc).lower()

        deadline, delay = time.monotonic() + wait_s, 0.2
        while True:
            try:
                return connect()
            except OperationalError as exc:
                if dropped(exc) and time.monotonic() + delay <= deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                reason = str(exc.orig or exc).strip().splitlines()[0]
                database = self.engine.url.database if self.is_sqlite else None
                if database and not os.path.isdir(os.path.dirname(database) or "."):
                    reason = f"the folder {os.path.dirname(database)} does not exist"
                raise UserError(f"cannot open the database {_shown(str(self.engine.url))}: {reason}") from None
            except DatabaseError as exc:  # not a database at all, or its first pages damaged
                if not self.is_sqlite:
                    raise
                raise self._damaged(str(exc.orig or exc).splitlines()[0]) from None

    @property
    def shown_url(self) -> str:
        """The URL without its password, as it may be printed."""
        return _shown(str(self.engine.url))

    def quick_check(self) -> None:
        """SQLite's own check of every page (PRAGMA quick_check; linear in the file's size, so
        run at the daemon's start and by `ingestd db check`, not by every command). A damaged
        file stops here in one line instead of failing some query later."""
        if not self.is_sqlite:
            return
        try:
            with self.engine.connect() as conn:
                problems = [row[0] for row in conn.execute(text("PRAGMA quick_check"))]
        except DatabaseError as exc:
            raise self._damaged(str(exc.orig or exc).splitlines()[0]) from None
        if problems != ["ok"]:
            raise self._damaged(f"{len(problems)} problem(s), the first: {problems[0]}")

    def _damaged(self, reason: str) -> DatabaseDamagedError:
        return DatabaseDamagedError(
            f"the database {self.engine.url.database} is damaged ({reason.strip()}): stop ingestd, move the file "
            f"aside, and either put back a backup (var/backups) or run `ingestd db upgrade` and then "
            f"`ingestd store rebuild-index` to index the store again")

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def where(self) -> str:
        """The database as a person finds it: its file for SQLite, its server otherwise."""
        if self.is_sqlite:
            return self.engine.url.database or "memory"
        return _shown(str(self.engine.url))

    @property
    def folder(self) -> str | None:
        """The folder holding an SQLite database, whose free space ingestd watches."""
        database = self.engine.url.database if self.is_sqlite else None
        return os.path.dirname(os.path.abspath(database)) if database else None

    @contextmanager
    def reading(self, snapshot: bool = False) -> Iterator[Session]:
        """A session that only reads: never takes the SQLite write lock. With `snapshot`,
        every query in it sees the same committed state (a report's figures must add up
        while docks keep committing); SQLite's read transaction already does."""
        bind = self.engine.execution_options(sqlite_begin="DEFERRED")
        if snapshot and not self.is_sqlite:
            bind = bind.execution_options(isolation_level="REPEATABLE READ")
        # Closing (not rolling back) keeps loaded rows usable after the block.
        with sessionmaker(bind=bind, expire_on_commit=False)() as session:
            yield session

    def writing_session(self) -> Session:
        """A raw writing session; callers go through `ingestd.changes.change()`."""
        return sessionmaker(bind=self.engine, expire_on_commit=False)()

    def dispose(self) -> None:
        self.engine.dispose()
