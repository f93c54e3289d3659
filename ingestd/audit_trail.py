"""Reading the audit trail: who did what, to which recording, when. One query for the console's
audit page and `ingestd audit list` (the auditor's scripts), newest first, in keyset pages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingestd.audit_names import SYSTEM_PREFIXES
from ingestd.db.models import AuditEvent


@dataclass(frozen=True, kw_only=True)
class TrailFilter:
    person: str = ""  # the acting badge, exactly
    action: str = ""  # an action, or its start ("recording." for every recording entry)
    subject: str = ""  # a recording's id, a case number, a user's badge …
    since: date | None = None  # local days, both ends included
    until: date | None = None
    before: int | None = None  # keyset: entries below this seq
    with_system: bool = True  # the entries the system writes for its own job queue


@dataclass(frozen=True)
class TrailEntry:
    seq: int
    at: datetime
    dock: str
    actor: str
    action: str
    subject_type: str
    subject_id: str
    detail: dict

    def as_dict(self, tz: ZoneInfo) -> dict:
        return {"seq": self.seq, "at": self.at.astimezone(tz).isoformat(), "dock": self.dock, "actor": self.actor,
                "action": self.action, "subject_type": self.subject_type, "subject_id": self.subject_id,
                "detail": self.detail}


def read_trail(session: Session, f: TrailFilter, tz: ZoneInfo, limit: int) -> list[TrailEntry]:
    q = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if f.person:
        q = q.where(AuditEvent.actor == f.person)
    if f.action:
        q = q.where(AuditEvent.action.startswith(f.action, autoescape=True))
    if f.subject:
        q = q.where(AuditEvent.subject_id == f.subject)
    if f.since:
        q = q.where(AuditEvent.at >= datetime.combine(f.since, time(), tz))
    if f.until:
        q = q.where(AuditEvent.at < datetime.combine(f.until + timedelta(days=1), time(), tz))
    if f.before is not None:
        q = q.where(AuditEvent.seq < f.before)
    if not f.with_system:
        for prefix in SYSTEM_PREFIXES:
            q = q.where(~AuditEvent.action.startswith(prefix, autoescape=True))
    return [TrailEntry(e.seq, e.at, e.dock, e.actor, e.action, e.subject_type, e.subject_id, json.loads(e.detail))
            for e in session.execute(q).scalars()]
