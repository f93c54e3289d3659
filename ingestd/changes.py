"""The one door for state changes: every write to the database goes through `Changes.begin`,
which appends the matching audit entries in the same transaction and refuses to commit
a change that recorded none. Later the web console, the scheduler and other docks all
come through here, so the audit log stays complete by construction."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
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


@dataclass
class Changes:
    db: Database
    signer: Signer
    dock: str
    clock: Clock

    @contextmanager
    def begin(self, actor: str) -> Iterator[Change]:
        session = self.db.writing_session()
        _watch_writes(session)
        # Take the audit head's row lock first: every writer, in every process and on every
        # dock, then runs one at a time, as SQLite's write lock already makes them. Without
        # it, two docks recomputing the same rows on PostgreSQL collide on insert.
        audit.lock_head(session)
        change = Change(session)
        try:
            yield change
            session.flush()
            if session.info.get("wrote") and not change.entries:
                raise AuditError("a database change was about to be committed without an audit entry")
            if change.entries:
                audit.append(session, self.signer, dock=self.dock, actor=actor,
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


def _watch_writes(session: Session) -> None:
    @event.listens_for(session, "before_flush")
    def _flush(sess, _ctx, _instances) -> None:
        if sess.new or sess.dirty or sess.deleted:
            sess.info["wrote"] = True

    @event.listens_for(session, "do_orm_execute")
    def _execute(state) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            state.session.info["wrote"] = True
