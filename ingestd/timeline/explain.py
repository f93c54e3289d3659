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
from ingestd.ingest.store import NewFile, Signature
from ingestd.replica.versions import add_version
from ingestd.timeline.reasons import REASONS


def explain_gap(app: App, gap_id: int, reason: str, voice_at: float | None, note: str | None, by: str) -> dict:
    if voice_at is not None and not math.isfinite(voice_at):
        raise UserError(f"--voice-at must be a number of seconds, not {voice_at!r}")
    if reason not in REASONS:
        raise UserError(f"unknown reason {reason!r} (use one of: {', '.join(REASONS)})")
    if (voice_at is None) == (note is None):
        raise UserError("give exactly one of --voice-at SECONDS (explained by voice) or --note TEXT (in writing)")
    if reason == "other" and not (note or "").strip():
        raise UserError("reason 'other' (其他) needs a written --note saying what happened")
    if note is not None and not note.strip():
        raise UserError("--note is empty")
    if not by.strip():
        raise UserError("--by needs the badge of the person explaining")
    with app.db.reading() as s:
        gap = s.get(Gap, gap_id)
        if gap is None:
            raise UserError(f"no gap with id {gap_id}")
        if gap.status == "explained":
            raise UserError(f"gap {gap_id} is already explained ({gap.reason}, by {gap.explained_by} at "
                            f"{gap.explained_at.astimezone(app.settings.tz).isoformat()}); explanations are never replaced")
        if gap.status == "superseded":
            raise UserError(f"gap {gap_id} no longer exists: a later dock filled the timeline in")
        holder = s.get(Recording, gap.after_recording_id or gap.before_recording_id)
        if voice_at is not None:
            if gap.after_recording_id is None:
                raise UserError(f"gap {gap_id} has no following clip to point into; explain it with --note")
            if voice_at < 0 or (holder.duration_s is not None and voice_at > holder.duration_s):
                raise UserError(f"--voice-at {voice_at} is outside the following clip (0..{holder.duration_s} s)")
    now = app.clock.now()
    doc = {"gap": gap_id, "kind": gap.kind, "start": gap.start.isoformat(), "end": gap.end.isoformat(),
           "reason": reason, "reason_zh": REASONS[reason], "explanation": "voice" if voice_at is not None else "written",
           "voice_at_s": voice_at, "voice_in_recording": gap.after_recording_id if voice_at is not None else None,
           "note": note, "by": by, "at": now.isoformat(), "articles": app.policy.cite("interruption_reason")}
    data = (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    with app.changes.begin(by) as ch:
        row = ch.session.get(Gap, gap_id)
        if row.status != "open":  # someone else explained it meanwhile
            raise UserError(f"gap {gap_id} was explained by someone else just now")
        version = add_version(
            app, ch, holder, [NewFile(f"explanations/gap-{gap_id}.json", hashlib.sha256(data).hexdigest(), data=data)],
            Signature(by, f"urn:ingestd:badge:{by}", f"explanation of gap {gap_id}: {REASONS[reason]}", now))
        row.reason, row.explanation, row.voice_at_s, row.note = reason, doc["explanation"], voice_at, note
        row.explained_by, row.explained_at, row.status = by, now, "explained"
        ch.record("gap.explained", "gap", str(gap_id), reason=reason, explanation=doc["explanation"],
                  voice_at_s=voice_at, note=note, object_id=holder.object_id, object_version=version)
    return {"gap": gap_id, "status": "explained", "reason": reason, "explanation": doc["explanation"],
            "object_id": holder.object_id, "object_version": version}
