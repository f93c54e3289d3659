"""Which process runs the unit-wide work (the compliance sweep, the alerts sweep, scheduled
reports, the replica sweep): one per unit, not one per dock. On PostgreSQL the leader is
the process holding a session-level advisory lock on a connection of its own; when that
process dies its connection closes, the lock is free, and the next process to ask takes
over. On SQLite there is one dock, which leads."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ingestd.db.engine import Database
from ingestd.logs import event

log = logging.getLogger("ingestd.leader")
LOCK_KEY = 0x1A6E57D  # the unit's one leadership lock, for pg_try_advisory_lock


class Leadership:
    def __init__(self, db: Database, name: str):
        self.db, self.name = db, name
        self._conn = None
        self._lock = threading.Lock()
        self.leading = db.is_sqlite

    def is_leader(self) -> bool:
        """True while this process holds the lock; asks for it when it does not. A connection
        that broke loses the lock with it (the server ends the session), so it is let go."""
        if self.db.is_sqlite:
            return True
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self.db.engine.connect()
                if self.leading:
                    self._conn.execute(text("select 1"))  # still ours: the session is alive
                    return True
                got = self._conn.execute(text("select pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
                self._conn.commit()
            except DBAPIError as exc:
                self._drop()
                if self.leading:
                    event(log, logging.WARNING, "leader.lost", node=self.name, error=str(exc).splitlines()[0])
                self.leading = False
                return False
            if got and not self.leading:
                event(log, logging.INFO, "leader.taken", node=self.name)
            self.leading = bool(got)
            return self.leading

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except DBAPIError:
                pass
            self._conn = None

    def close(self) -> None:
        """Let go: another dock takes over at its next ask. The lock is released outright
        rather than left to end with the session, because the server ends a closed session
        a moment later, and a dock asking in that moment would find nobody leading."""
        with self._lock:
            if self.leading and self._conn is not None and not self.db.is_sqlite:
                try:
                    self._conn.execute(text("select pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                    self._conn.commit()
                except DBAPIError as exc:  # the session is gone, and the lock with it
                    event(log, logging.WARNING, "leader.unlock_failed", node=self.name,
                          error=str(exc).splitlines()[0])
            self._drop()
            self.leading = self.db.is_sqlite
