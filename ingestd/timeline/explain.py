"""Explaining a gap (中断说明): a reason from the catalogue and either the second of the
following clip where the officer explained it by voice (003 第20条, 004 第15条) or a
written explanation. Stored as a new version of the recording's OCFL object (never a
rewrite) and in the audit log, with who and when. An explanation is never replaced."""

from __future__ import annotations

import hashlib
import json
import math

from ingestd.app import App
from ingestd.db.models import Gap, Recording
from ingestd.errors import UserError
from ingestd.findings import refused
from ingestd.ingest.store import NewFile, Signature
from ingestd.localtime import local_text
from ingestd.replica.versions import add_version
from ingestd.timeline.reasons import REASONS

MAX_NOTE = 4000


def explain_gap(app: App, gap_id: int, reason: str, voice_at: float | None, note: str | None, by: str) -> dict:
    if voice_at is not None and not math.isfinite(voice_at):
        raise refused("explain_voice_outside", at=voice_at, duration="?")
    if not reason:
        raise refused("explain_reason_missing")
    if reason not in REASONS:
        raise refused("explain_reason_unknown", reason=reason, choices=", ".join(REASONS))
    if (voice_at is None) == (note is None):
        raise refused("explain_one_way")
    if reason == "other" and not (note or "").strip():
        raise refused("explain_needs_note")
    if note is not None and not note.strip():
        raise refused("explain_note_empty")
    if note is not None and len(note) > MAX_NOTE:
        raise refused("explain_note_long", length=len(note), limit=MAX_NOTE)
    if not by.strip():
        raise UserError("--by needs the badge of the person explaining")
    with app.db.reading() as s:
        gap = s.get(Gap, gap_id)
        if gap is None:
            raise refused("gap_unknown", gap=gap_id)
        if gap.status == "explained":
            raise refused("gap_already_explained", gap=gap_id, reason=REASONS.get(gap.reason or "", gap.reason),
                          by=gap.explained_by, at=local_text(gap.explained_at, app.settings.tz))
        if gap.status == "superseded":
            raise refused("gap_superseded", gap=gap_id)
        holder = s.get(Recording, gap.after_recording_id or gap.before_recording_id)
        if voice_at is not None:
            if gap.after_recording_id is None:
                raise refused("explain_no_clip", gap=gap_id)
            if voice_at < 0 or (holder.duration_s is not None and voice_at > holder.duration_s):
                raise refused("explain_voice_outside", at=voice_at, duration=holder.duration_s)
    now = app.clock.now()
    doc = {"gap": gap_id, "kind": gap.kind, "start": gap.start.isoformat(), "end": gap.end.isoformat(),
           "reason": reason, "reason_zh": REASONS[reason], "explanation": "voice" if voice_at is not None else "written",
           "voice_at_s": voice_at, "voice_in_recording": gap.after_recording_id if voice_at is not None else None,
           "note": note, "by": by, "at": now.isoformat(), "articles": app.policy.cite("interruption_reason")}
    data = (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    with app.changes.begin(by) as ch:
        row = ch.session.get(Gap, gap_id)
        if row.status != "open":  # someone else explained it meanwhile
            raise refused("gap_explained_meanwhile", gap=gap_id)
        version = add_version(
            app, ch, holder, [NewFile(f"explanations/gap-{gap_id}.json", hashlib.sha256(data).hexdigest(), data=data)],
            Signature(by, f"urn:ingestd:badge:{by}", f"explanation of gap {gap_id}: {REASONS[reason]}", now))
        row.reason, row.explanation, row.voice_at_s, row.note = reason, doc["explanation"], voice_at, note
        row.explained_by, row.explained_at, row.status = by, now, "explained"
        ch.record("gap.explained", "gap", str(gap_id), reason=reason, explanation=doc["explanation"],
                  voice_at_s=voice_at, note=note, object_id=holder.object_id, object_version=version)
    return {"gap": gap_id, "status": "explained", "reason": reason, "explanation": doc["explanation"],
            "object_id": holder.object_id, "object_version": version}
