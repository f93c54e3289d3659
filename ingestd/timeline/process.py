"""The timeline step, run after each dock commits: measure the camera clock, correct
the dock's recordings, then re-evaluate the gaps of every device touched.

Re-evaluation is by a stable key per gap: a gap found again keeps its row (and its
explanation); an open gap that a later dock filled in is marked `superseded`, never
deleted; an explained gap is never changed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select

from ingestd.app import App
from ingestd.avfacts import MediaUnreadable, packet_scan
from ingestd.db.models import Device, DockSession, Gap, Incident, Recording, Recovery
from ingestd.db.states import GapKind, RecordingStatus, RecoveryStatus
from ingestd.errors import ToolError
from ingestd.findings import Finding
from ingestd.ingest.commit import STORAGE_NEARLY_FULL
from ingestd.jobs.queue import Claimed, Done
from ingestd.logs import event
from ingestd.replica.original import original_file
from ingestd.timeline import probes
from ingestd.timeline.clock import DRIFT_LIMIT_S_PER_DAY, corrected, dock_offset, drift_per_day, is_reset
from ingestd.timeline.sessions import Clip, GapCandidate, find_gaps, inside_file_gaps, order

log = logging.getLogger("ingestd.timeline")
ACTOR = "ingestd"
TIMELINE_KINDS = ("video", "audio")  # photos and sidecars have no duration to leave gaps in


def timeline_job(app: App, job: Claimed) -> Done:
    """The after-dock job of one dock session (its SM3 and probe jobs are done before it)."""
    return Done(job.id, process_docks(app, [job.subject]))


def process_docks(app: App, session_ids: list[str]) -> dict:
    devices: set[int] = set()
    for sid in session_ids:
        device_id = _correct_session(app, sid)
        if device_id is not None:
            devices.add(device_id)
    found = 0
    new_recordings = set(_session_recordings(app, session_ids))
    for device_id in sorted(devices):
        found += _evaluate_device(app, device_id, new_recordings, session_ids)
        _check_drift(app, device_id)
    return {"devices": len(devices), "open_gaps_found": found}


def _session_recordings(app: App, session_ids: list[str]) -> list[str]:
    with app.db.reading() as s:
        return list(s.execute(select(Recording.id).where(Recording.dock_session_id.in_(session_ids))).scalars())


def _correct_session(app: App, session_id: str) -> int | None:
    """The camera's clock as read at the dock (kept on the session), or bounded by its newest
    clip, corrects every recording the session brought."""
    with app.changes.begin(ACTOR) as ch:
        ds = ch.session.get(DockSession, session_id)
        if ds is None:
            return None
        recs = ch.session.execute(select(Recording).where(Recording.dock_session_id == session_id)).scalars().all()
        newest = max((r.end or r.start for r in recs if (r.end or r.start)), default=None)
        reading = dock_offset(ds.camera_clock_at, ds.started_at, newest)
        ds.host_clock_at = ds.started_at
        ds.clock_offset_s, ds.clock_source = reading.offset_s, reading.source
        resets = 0
        for r in recs:
            r.start_corrected = corrected(r.start, reading.offset_s)
            r.end_corrected = corrected(r.end, reading.offset_s)
            if r.start is not None and is_reset(r.start):
                r.clock_flag, resets = "clock_reset", resets + 1
        ch.record("timeline.clock", "dock_session", session_id, offset_s=reading.offset_s, source=reading.source,
                  recordings=len(recs), clock_resets=resets)
        if resets:
            ch.record("recording.flagged", "dock_session", session_id, code="clock_reset", count=resets)
        return ds.device_id


def _evaluate_device(app: App, device_id: int, new_recordings: set[str], session_ids: list[str]) -> int:
    with app.db.reading() as s:
        rows = s.execute(select(Recording, DockSession.profile)
                         .join(DockSession, Recording.dock_session_id == DockSession.id)
                         .where(Recording.device_id == device_id, Recording.kind.in_(TIMELINE_KINDS))).all()
    if not rows:
        return 0
    profile = app.profile(rows[-1][1]) if rows[-1][1] in app.profiles else app.profile(None)
    tolerance = profile.split_tolerance_s
    window = app.policy.interruptions.session_window_minutes * 60
    recs = {r.id: r for r, _ in rows}
    reset = any(r.clock_flag == "clock_reset" for r in recs.values())
    spans = _recovered_spans(app, [r.id for r in recs.values() if r.status == RecordingStatus.DAMAGED])
    clips = order([Clip(r.id, r.start_corrected or r.start, _end(r, spans), r.status == RecordingStatus.DAMAGED, r.seq)
                   for r in recs.values() if (r.start_corrected or r.start) is not None], by_seq=reset)
    if reset:
        clips = _renumber_times(clips)
    candidates, _activities = find_gaps(clips, tolerance, window)
    candidates += _storage_full_ends(app, session_ids, clips)
    for clip in clips:
        rec = recs[clip.id]
        if clip.id in new_recordings and not clip.damaged and (rec.probe or {}).get("video"):
            usual, jumps = _packets(app, rec)
            candidates += inside_file_gaps(clip, usual, jumps, tolerance)
    return _store_gaps(app, device_id, candidates, recs)


def _recovered_spans(app: App, damaged: list[str]) -> dict[str, float]:
    """How long what was recovered of each damaged clip runs (its end is otherwise unknown)."""
    if not damaged:
        return {}
    with app.db.reading() as s:
        return dict(s.execute(select(Recovery.recording_id, Recovery.span_s).where(
            Recovery.recording_id.in_(damaged), Recovery.status == RecoveryStatus.RECOVERED)).all())


def _end(rec: Recording, spans: dict[str, float]):
    end = rec.end_corrected or rec.end
    if end is None and rec.id in spans:
        # The interruption after a damaged clip starts where what was recovered of it ends.
        return (rec.start_corrected or rec.start) + timedelta(seconds=spans[rec.id])
    return end


def _storage_full_ends(app: App, session_ids: list[str], clips: list[Clip]) -> list[GapCandidate]:
    """A camera docked with its storage nearly full stopped recording for that reason:
    its newest clip ends in an interruption suggested as 存储空间不足."""
    with app.db.reading() as s:
        full = [ds.id for ds in s.execute(select(DockSession).where(DockSession.id.in_(session_ids))).scalars()
                if ds.storage_fill is not None and ds.storage_fill >= STORAGE_NEARLY_FULL]
        newest = {sid: rid for sid, rid in s.execute(
            select(Recording.dock_session_id, Recording.id).where(Recording.dock_session_id.in_(full),
                                                                 Recording.kind.in_(TIMELINE_KINDS))
            .order_by(func.coalesce(Recording.end_corrected, Recording.end)))} if full else {}
    by_id = {c.id: c for c in clips}
    out = []
    for rid in newest.values():
        clip = by_id.get(rid)
        if clip is not None:
            ends = clip.end or clip.start
            out.append(GapCandidate(f"at_storage_full:{rid}", rid, None, ends, ends, GapKind.AT_STORAGE_FULL,
                                    "storage_full"))
    return out


def _renumber_times(clips: list[Clip]) -> list[Clip]:
    """With a reset clock the times mean nothing; in sequence order only splits are
    certain, so consecutive clips are laid end to end and no pause is invented."""
    laid, t = [], None
    for c in clips:
        length = (c.end - c.start) if c.end else timedelta(0)
        start = t if t is not None else c.start
        laid.append(Clip(c.id, start, start + length, c.damaged, c.seq))
        t = start + length
    return laid


def _packets(app: App, rec: Recording) -> tuple[float | None, list]:
    """The packet scan the probe job stored; scanned here when that job could not run."""
    scan = (rec.probe or {}).get("packets")
    if scan is None or "error" in scan:
        try:
            scan = packet_scan(str(original_file(app, rec))).as_dict()
        except MediaUnreadable as exc:
            event(log, logging.WARNING, "timeline.packets_failed", recording=rec.id, error=str(exc))
            return None, []
    return scan["usual_step_s"], scan["jumps"]


def _store_gaps(app: App, device_id: int, candidates: list[GapCandidate], recs: dict[str, Recording]) -> int:
    now = app.clock.now()
    seen = {c.key for c in candidates}
    opened = 0
    # Voice hints run ffmpeg: found before the transaction, only for gaps not stored yet.
    with app.db.reading() as s:
        known = set(s.execute(select(Gap.key).where(Gap.key.in_(seen))).scalars()) if seen else set()
    hints = {c.key: _hint(app, recs[c.after]) for c in candidates
             if c.key not in known and c.after and c.after != c.before and c.after in recs}
    with app.changes.begin(ACTOR) as ch:
        # Read inside the writing transaction, holding the camera's name: another process or
        # dock evaluating the same camera (two docks of one dump) may have stored these gaps a
        # moment ago.
        ch.lock(f"timeline:device:{device_id}")
        existing = {g.key: g for g in ch.session.execute(select(Gap).where(Gap.device_id == device_id)).scalars()}
        for c in candidates:
            gap = existing.get(c.key)
            if gap is None:
                gap = Gap(key=c.key, device_id=device_id, before_recording_id=c.before, after_recording_id=c.after,
                          start=c.start, end=c.end, seconds=c.seconds, kind=c.kind,
                          suggested_reason=c.suggested_reason, status="open", detected_at=now,
                          voice_hint=hints.get(c.key))
                ch.session.add(gap)
                ch.session.flush()
                opened += 1
                ch.record("gap.detected", "gap", str(gap.id), kind=c.kind, start=c.start.isoformat(),
                          seconds=c.seconds, before=c.before, after=c.after, suggested=c.suggested_reason)
            elif gap.status in ("open", "superseded"):
                row = gap
                if (row.start, row.end, row.status) != (c.start, c.end, "open"):
                    row.start, row.end, row.seconds, row.status = c.start, c.end, c.seconds, "open"
                    ch.record("gap.updated", "gap", str(row.id), start=c.start.isoformat(), seconds=c.seconds)
        for key, gap in existing.items():
            if key not in seen and gap.status == "open":
                gap.status = "superseded"
                ch.record("gap.superseded", "gap", str(gap.id), reason="a later dock filled the timeline in")
    if opened:
        event(log, logging.WARNING, "timeline.gaps", device=device_id, opened=opened, rule="interruption")
    return opened


def _hint(app: App, after: Recording) -> dict | None:
    path = app.store.resolve(after.object_id, after.content_name)
    try:
        return probes.voice_hint(str(path), bool((after.probe or {}).get("audio")), after.duration_s,
                                 timeout_s=120).as_dict()
    except ToolError as exc:
        return {"sound": None, "at_s": None, "error": str(exc), "hint_only": True}


def _check_drift(app: App, device_id: int) -> None:
    """More than 3 s/day between exact clock readings is a device finding (001 第27条, 003 第42条)."""
    with app.db.reading() as s:
        rows = s.execute(select(DockSession.id, DockSession.host_clock_at, DockSession.clock_offset_s)
                         .where(DockSession.device_id == device_id, DockSession.clock_source == "camera")
                         .order_by(DockSession.host_clock_at)).all()
        serial = s.get(Device, device_id).serial
        already = s.execute(select(func.count()).select_from(Incident)
                            .join(DockSession, Incident.dock_session_id == DockSession.id)
                            .where(Incident.code == "clock_drift", Incident.status == "open",
                                   DockSession.device_id == device_id)).scalar()
    readings = [(h, o) for _sid, h, o in rows]
    drift = drift_per_day(readings)
    if drift is None or abs(drift) <= DRIFT_LIMIT_S_PER_DAY or already:
        return
    finding = Finding("clock_drift", {"device": serial, "drift": round(drift, 1)})
    with app.changes.begin(ACTOR) as ch:
        incident = Incident(code="clock_drift", dock_session_id=rows[-1][0], detail=finding.message,
                            facts=finding.detail, opened_at=app.clock.now(), status="open")
        ch.session.add(incident)
        ch.session.flush()
        ch.record("incident.opened", "incident", str(incident.id), code="clock_drift", device=serial,
                  drift_s_per_day=round(drift, 2))
    event(log, logging.WARNING, "device.clock_drift", device=serial, drift_s_per_day=round(drift, 2))
