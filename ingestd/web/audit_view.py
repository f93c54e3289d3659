"""Audit entries as a person reads them: the action by its name (audit_names), the actor by
name, a recording by its officer, time and file, and local times. The audit page, a
recording's history and that history's PDF all read entries through here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingestd.audit_names import SYSTEM_ACTOR, action_name, is_system, subject_name
from ingestd.audit_trail import TrailEntry
from ingestd.db.models import Officer, Recording, RecordingCompliance, User
from ingestd.localtime import MINUTE, local_text



@dataclass(frozen=True)
class ShownEntry:
    seq: int
    at: str
    actor: str  # 张三（O1）, or the system
    action: str  # its name; the code where none is known
    code: str  # the action's code, as the signed record has it
    subject: str  # what it is, in words
    subject_ref: str | None  # its identifier where words cannot say it (a case number, a job batch)
    recording_id: str | None
    detail: str  # the signed detail, verbatim (JSON)
    system: bool


def _names(session: Session, badges: set[str]) -> dict[str, str]:
    if not badges:
        return {}
    found = dict(session.execute(select(Officer.badge, Officer.name).where(Officer.badge.in_(badges))).all())
    found.update(session.execute(select(User.badge, User.name).where(User.badge.in_(badges))).all())
    return found


def recording_labels(session: Session, ids: set[str], tz: ZoneInfo) -> dict[str, str]:
    """Each recording as 张三 · 2026-11-20 08:30 · 20261120_083000.mp4, never by its digest."""
    if not ids:
        return {}
    rows = session.execute(select(Recording.id, Recording.original_name, Recording.start, RecordingCompliance.officer_badge)
                           .outerjoin(RecordingCompliance, RecordingCompliance.recording_id == Recording.id)
                           .where(Recording.id.in_(ids))).all()
    names = _names(session, {badge for *_rest, badge in rows if badge})
    return {rid: " · ".join(part for part in (names.get(badge, badge) if badge else None,
                                               local_text(start, tz, MINUTE) if start else None, name) if part)
            for rid, name, start, badge in rows}


def shown(session: Session, entries: list[TrailEntry], tz: ZoneInfo, language: str, system_word: str) -> list[ShownEntry]:
    names = _names(session, {e.actor for e in entries})
    recordings = recording_labels(session, {e.subject_id for e in entries if e.subject_type == "recording"}, tz)
    subject_people = _names(session, {e.subject_id for e in entries if e.subject_type in ("user", "officer")})

    def actor(badge: str) -> str:
        if badge == SYSTEM_ACTOR:
            return system_word
        return f"{names[badge]}（{badge}）" if badge in names else badge

    def subject(e: TrailEntry) -> tuple[str, str | None]:
        kind = subject_name(e.subject_type, language)
        if e.subject_type == "recording" and e.subject_id in recordings:
            return recordings[e.subject_id], None
        if e.subject_type in ("user", "officer") and e.subject_id in subject_people:
            return f"{kind} {subject_people[e.subject_id]}（{e.subject_id}）", None
        return kind, e.subject_id

    return [ShownEntry(e.seq, local_text(e.at, tz), actor(e.actor), action_name(e.action, language), e.action,
                       *subject(e), e.subject_id if e.subject_type == "recording" else None,
                       json.dumps(e.detail, ensure_ascii=False), is_system(e.action)) for e in entries]
