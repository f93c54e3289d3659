"""Engines and sessions for SQLite (embedded default) and PostgreSQL (shared by docks)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


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


@dataclass
class Database:
    engine: Engine

    @classmethod
    def open(cls, url: str) -> "Database":
        return cls(make_engine(url))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

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
