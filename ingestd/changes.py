"""The one door for state changes: every write to the database goes through `Changes.begin`,
which appends the matching audit entries in the same transaction and refuses to commit
a change that recorded none. Later the web console, the scheduler and other docks all
come through here, so the audit log stays complete by construction."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ingestd import audit
from ingestd.audit import AuditEntry
from ingestd.clock import Clock
from ingestd.db.engine import Database, is_disk_full
from ingestd.errors import AuditError, NoSpaceError
from ingestd.signing import Signer


@dataclass
class Change:
    session: Session
    entries: list[AuditEntry] = field(default_factory=list)

    def record(self, action: str, subject_type: str, subject_id: str, **detail: object) -> None:
        self.entries.append(AuditEntry(action, subject_type, str(subject_id), detail))

    def lock(self, *names: str, within: str | None = None) -> None:
        """Hold these names until the change ends: docks sharing PostgreSQL that would write the
        same rows (the same bytes docked at two docks, one shift's figures) take turns, and only
        they do. On SQLite the one writer at a time already holds them.

        `within` names the whole the items belong to: item lockers share it, and a change with
        more items than the server's lock table should hold takes the whole alone instead, so
        that it excludes every item locker and they exclude one another item by item."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        keys = sorted({lock_key(n) for n in names})  # one order everywhere: no deadlock between docks
        if within is not None:
            whole = len(keys) > MAX_NAMES
            self.session.execute(text(f"select pg_advisory_xact_lock{'' if whole else '_shared'}(:k)"),
                                 {"k": lock_key(within)})
            if whole:
                return
        elif len(keys) > MAX_NAMES:
            # Each name is a slot in the server's lock table, shared by every session.
            raise AuditError(f"a change asked for {len(keys)} named locks (at most {MAX_NAMES}): name a whole")
        for key in keys:
            self.session.execute(text("select pg_advisory_xact_lock(:k)"), {"k": key})


# The server's lock table holds max_locks_per_transaction (64) × connections slots in all:
# a dock's batch (ingest.pipeline.BATCH_MAX files) fits with room to spare.
MAX_NAMES = 256


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@dataclass
class Changes:
    db: Database
    signer: Signer
    dock: str
    clock: Clock
    _registered: bool = False

    @contextmanager
    def begin(self, actor: str) -> Iterator[Change]:
        if not self._registered:
            self.register()
        session = self.db.writing_session()
        _watch_writes(session)
        # This node's head first: the dock's own writers (its processes and threads) run one at
        # a time, as they always have; another dock's writers have heads of their own and wait
        # only where they take the same named lock (Change.lock) or row.
        audit.lock_head(session, self.dock)
        change = Change(session)
        try:
            yield change
            session.flush()
            if session.info.get("wrote") and not change.entries:
                raise AuditError("a database change was about to be committed without an audit entry")
            if change.entries:
                audit.append(session, self.signer, node=self.dock, actor=actor,
                             at=self.clock.now(), entries=change.entries)
            session.commit()
        except OperationalError as exc:
            session.rollback()
            if is_disk_full(exc):
                raise NoSpaceError(f"the database's disk is full ({self.db.where}); nothing of this change was "
                                   f"kept: free space, then dock again", self.db.where) from None
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def register(self) -> None:
        """This dock's chain and key in the database, once per process (audited like any change).
        Two processes of one dock starting at once: the loser of the insert finds it done."""
        for attempt in (1, 2):
            session = self.db.writing_session()
            try:
                entries = audit.register(session, self.signer, self.dock, self.clock.now())
                if entries:
                    session.flush()
                    audit.append(session, self.signer, node=self.dock, actor="ingestd", at=self.clock.now(),
                                 entries=entries)
                session.commit()
                break
            except IntegrityError:
                session.rollback()
                if attempt == 2:
                    raise
            finally:
                session.close()
        self._registered = True


def _watch_writes(session: Session) -> None:
    @event.listens_for(session, "before_flush")
    def _flush(sess, _ctx, _instances) -> None:
        if sess.new or sess.dirty or sess.deleted:
            sess.info["wrote"] = True

    @event.listens_for(session, "do_orm_execute")
    def _execute(state) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            state.session.info["wrote"] = True
