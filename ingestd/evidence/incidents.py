"""Incidents and their written explanations (书面说明). A damaged or unstorable file is
reported to the head at once and its written explanation is archived (002 第16条); a
device fault (storage nearly full, clock drift, identity mismatch) is explained the same
way. The explanation of a recording's incident goes into the recording's OCFL object as
a new version (the original never changes) and into the audit log, like a gap's; an
explained incident is closed and never explained twice."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import select

from ingestd.app import App
from ingestd.db.models import Device, DockSession, Incident, Recording, Recovery
from ingestd.localtime import local_text
from ingestd.timeline.explain import MAX_NOTE
from ingestd.findings import Finding, refused, written
from ingestd.ingest.store import NewFile, Signature
from ingestd.media.recovered import recovery_finding
from ingestd.replica.versions import add_version
from ingestd.users import require_user

def list_incidents(app: App, only_open: bool = False) -> list[dict]:
    q = (select(Incident, Recording.original_name, Device.serial, Recovery)
         .outerjoin(Recording, Recording.id == Incident.recording_id)
         .outerjoin(Recovery, Recovery.recording_id == Incident.recording_id)
         .outerjoin(DockSession, DockSession.id == Incident.dock_session_id)
         .outerjoin(Device, Device.id == DockSession.device_id)
         .order_by(Incident.opened_at, Incident.id))
    if only_open:
        q = q.where(Incident.status == "open")
    tz = app.settings.tz
    policy = app.policy
    with app.db.reading() as s:
        return [incident_dict(inc, name, serial, tz, policy, recovery) for inc, name, serial, recovery in s.execute(q)]


def incident_dict(inc: Incident, name: str | None, serial: str | None, tz, policy,
                  recovery: Recovery | None = None) -> dict:
    def iso(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    finding = Finding(inc.code, inc.facts or {})
    return {"id": inc.id, "code": inc.code, "label_zh": finding.kind.label_zh, "article": finding.article(policy),
            "status": inc.status, "recording_id": inc.recording_id, "file": name, "device": serial,
            "detail": inc.detail, "detail_zh": finding.message_zh if inc.facts else inc.detail,
            "opened_at": iso(inc.opened_at), "explanation": inc.explanation,
            "explained_by": inc.explained_by, "explained_at": iso(inc.explained_at),
            # What was recovered of a damaged recording: how much the officer can watch first.
            **_recovery_text(recovery, name)}


def _recovery_text(recovery: Recovery | None, name: str | None) -> dict:
    if recovery is None:
        return {"recovery": None, "recovery_zh": None, "recovery_status": None}
    finding = recovery_finding(recovery, name or recovery.recording_id[:12])
    return {"recovery": finding.message, "recovery_zh": finding.message_zh, "recovery_status": recovery.status.value}


def explain_incident(app: App, incident_id: int, note: str, by: str) -> dict:
    note = written(note, "explain_note_empty", MAX_NOTE)
    now = app.clock.now()
    with app.db.reading() as s:
        user = require_user(s, by, doing="explain an incident")
        inc = s.get(Incident, incident_id)
        if inc is None:
            raise refused("incident_unknown", incident=incident_id)
        if inc.status != "open":
            raise refused("incident_already_explained", incident=incident_id, by=inc.explained_by,
                          at=local_text(inc.explained_at, app.settings.tz))
        rec = s.get(Recording, inc.recording_id) if inc.recording_id else None
    finding = Finding(inc.code, inc.facts or {})
    version = None
    with app.changes.begin(by) as ch:
        row = ch.session.get(Incident, incident_id)
        if row.status != "open":
            raise refused("incident_already_explained", incident=incident_id, by=row.explained_by,
                          at=local_text(row.explained_at, app.settings.tz))
        if rec is not None:
            doc = {"format": "ingestd-incident-explanation/1", "incident": incident_id, "code": inc.code,
                   "label_zh": finding.kind.label_zh, "detail": inc.detail, "opened_at": inc.opened_at.isoformat(),
                   "书面说明": note, "by": by, "by_name": user.name, "at": now.isoformat(),
                   "article": finding.article(app.policy)}
            data = (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
            version = add_version(
                app, ch, rec, [NewFile(f"explanations/incident-{incident_id}.json", hashlib.sha256(data).hexdigest(),
                                       data=data)],
                Signature(by, f"urn:ingestd:badge:{by}", f"书面说明 of incident {incident_id} ({inc.code})", now))
        row.status, row.explanation, row.explained_by, row.explained_at = "closed", note, by, now
        ch.record("incident.explained", "incident", str(incident_id), code=inc.code, note=note,
                  recording=inc.recording_id, object_version=version, article=finding.article(app.policy))
    return {"id": incident_id, "status": "closed", "object_version": version,
            "object_id": rec.object_id if rec else None}
