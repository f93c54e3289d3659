"""Recompute derived compliance: every recording's officer, deadline and upload status,
and every shift's expectation. Runs after a roster import, after each dock, and on a
schedule (so that `pending` shifts turn `overdue` as deadlines pass). Writes go through
the audited door in batches, one audit entry per batch with its counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, insert, or_, select, update

from ingestd.app import App
from ingestd.compliance import rollup
from ingestd.compliance.status import Judge, RecordingFact, RecordingVerdict, ShiftFact, ShiftIndex
from ingestd.db.models import (RECORDING_MADE, Device, DockSession, Officer, Recording, RecordingCompliance, RosterImport,
                               Shift, ShiftExcuse, TripReturn, TripRuling)
from ingestd.db.types import UTCDateTime

BATCH = 5000
RECENT_DAYS = 45  # shifts whose expectation can still change (longest deadline plus slack)


@dataclass
class RecomputeResult:
    recordings: Counter = field(default_factory=Counter)
    shifts: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"recordings": sum(self.recordings.values()), "upload_status": dict(self.recordings),
                "shifts": sum(self.shifts.values()), "shift_status": dict(self.shifts)}


def build_judge(app: App) -> Judge:
    with app.db.reading() as s:
        shifts = shift_facts(s, s.execute(select(Shift)).scalars().all())
        owners = {serial: badge for serial, badge in
                  s.execute(select(Device.serial, Device.owner_badge).where(Device.owner_badge.is_not(None)))}
        teams = dict(s.execute(select(Officer.badge, Officer.team)).all())
        rostered = [(a, b) for a, b in s.execute(select(RosterImport.period_start, RosterImport.period_end))]
        docks: dict[str, list[datetime]] = {}
        for serial, started in s.execute(select(Device.serial, DockSession.started_at)
                                         .join(DockSession, DockSession.device_id == Device.id)
                                         .where(Device.owner_badge.is_(None)).order_by(DockSession.started_at)):
            docks.setdefault(serial, []).append(started)
    trips = tuple(app.policy.upload.exception.assignments)
    return Judge(app.policy, app.calendar, app.settings.tz, ShiftIndex(shifts, trips), owners, teams, rostered,
                 docks)


def recompute(app: App, window: tuple[date, date] | None = None, judge: Judge | None = None,
              cameras: dict[int, str] | None = None) -> RecomputeResult:
    """Recordings and shifts in the window of local dates (all when None), of these cameras
    (device id: serial) or of all of them."""
    judge = judge or build_judge(app)
    result = RecomputeResult()
    _recordings(app, judge, window, result, cameras)
    _shifts(app, judge, window, result, cameras)
    return result


def recompute_sessions(app: App, session_ids: list[str]) -> RecomputeResult:
    """After a dock: deadlines and statuses for what it brought, and the shifts a dock can
    settle (one met by this dock, or still waiting for one) — of the docked cameras only: a
    dock changes nothing of another camera's figures (time does, and the leader's sweep
    follows it), so docks of other cameras do not redo each other's days."""
    when = func.coalesce(Recording.end_corrected, Recording.end, Recording.start_corrected, Recording.start)
    with app.db.reading() as s:
        first, last = s.execute(select(func.min(when, type_=UTCDateTime), func.max(when, type_=UTCDateTime))
                                .where(Recording.dock_session_id.in_(session_ids))).one()
        docked = s.execute(select(DockSession.device_id, Device.serial).outerjoin(Device, Device.id ==
                                                                                 DockSession.device_id)
                           .where(DockSession.id.in_(session_ids))).all()
    # A session with no camera known: its recordings could be anyone's, so everyone's days.
    cameras = None if any(device is None for device, _serial in docked) else dict(docked)
    judge = build_judge(app)  # the roster and owners, read once for both steps
    result = RecomputeResult()
    if first is not None:
        lo, hi = (v.astimezone(app.settings.tz).date() for v in (first, last))
        result = recompute(app, (lo - timedelta(days=1), hi + timedelta(days=1)), judge, cameras)
    recompute_recent(app, judge, cameras)
    return result


def recompute_recent(app: App, judge: Judge | None = None, cameras: dict[int, str] | None = None) -> RecomputeResult:
    """The scheduled sweep: shifts of the last weeks, whose status can still move with time
    (of these cameras, after their dock)."""
    today = app.clock.now().astimezone(app.settings.tz).date()
    judge = judge or build_judge(app)
    result = RecomputeResult()
    _shifts(app, judge, (today - timedelta(days=RECENT_DAYS), today), result, cameras)
    return result


def _bounds(app: App, window: tuple[date, date]) -> tuple[datetime, datetime]:
    tz = app.settings.tz
    return (datetime.combine(window[0], time(0), tzinfo=tz),
            datetime.combine(window[1] + timedelta(days=1), time(0), tzinfo=tz))


def _recordings(app: App, judge: Judge, window: tuple[date, date] | None, result: RecomputeResult,
                cameras: dict[int, str] | None = None) -> None:
    # Corrected camera times where the timeline measured the clock, else the raw ones.
    start = RECORDING_MADE
    end = func.coalesce(Recording.end_corrected, Recording.end, type_=UTCDateTime)
    query = (select(Recording.id, Device.serial, Recording.badge, start, end, Recording.ingested_at,
                    Recording.duration_s, Recording.status)
             .outerjoin(Device, Recording.device_id == Device.id)
             .where(Recording.kind != "sidecar")  # camera logs are not 音像记录: no deadline
             .order_by(Recording.id))
    if window is not None:
        lo, hi = _bounds(app, window)
        query = query.where(or_(end.between(lo, hi), start.between(lo, hi)))
    if cameras is not None:
        query = query.where(Recording.device_id.in_(list(cameras)))
    batch: list[tuple[RecordingVerdict, dict]] = []
    tz = app.settings.tz
    first = last = None
    with app.db.reading() as s:
        for *fact, duration_s, status in s.execute(query.execution_options(yield_per=BATCH)):
            made, uploaded = fact[3], fact[5]
            batch.append((judge.recording(RecordingFact(*fact)),
                          {"made_at": made, "duration_s": duration_s, "damaged": status == "damaged",
                           "uploaded_at": uploaded}))
            if made is not None:
                day = made.astimezone(tz).date()
                first, last = min(first or day, day), max(last or day, day)
            if len(batch) >= BATCH:
                _write_recordings(app, batch, result)
                batch = []
    if batch:
        _write_recordings(app, batch, result)
    if first is not None:
        rollup.rebuild(app, first, last)


def _write_recordings(app: App, batch: list[tuple[RecordingVerdict, dict]], result: RecomputeResult) -> None:
    now = app.clock.now()
    rows = [{"recording_id": v.recording_id, "officer_badge": v.officer_badge, "officer_source": v.officer_source,
             "team": v.team, "shift_id": v.shift_id, "deadline": v.deadline.at if v.deadline else None,
             "deadline_rule": v.deadline.rule if v.deadline else None,
             "article": v.deadline.article if v.deadline else None, "upload_status": v.upload_status,
             "late_by_s": v.late_by_s, "off_duty": v.off_duty, "note": v.note, "computed_at": now, **facts}
            for v, facts in batch]
    verdicts = [v for v, _facts in batch]
    counts = Counter(v.upload_status for v in verdicts)
    with app.changes.begin("ingestd") as ch:
        ch.lock(rollup.COMPLIANCE_LOCK)
        ch.session.execute(delete(RecordingCompliance)
                           .where(RecordingCompliance.recording_id.in_([v.recording_id for v in verdicts])))
        ch.session.execute(insert(RecordingCompliance.__table__), rows)  # Core executemany: no ORM bookkeeping
        ch.record("compliance.recomputed", "recordings", verdicts[0].recording_id,
                  last=verdicts[-1].recording_id, count=len(verdicts), upload_status=dict(counts), policy=app.policy.name,
                  off_duty=sum(v.off_duty for v in verdicts))
    result.recordings.update(counts)


def _shifts(app: App, judge: Judge, window: tuple[date, date] | None, result: RecomputeResult,
            cameras: dict[int, str] | None = None) -> None:
    shift_filter = [Shift.day.between(*window)] if window else []
    if cameras is not None:
        shift_filter.append(Shift.camera.in_(list(cameras.values())))
    with app.db.reading() as s:
        shifts = s.execute(select(Shift).where(*shift_filter)).scalars().all()
        uploads = _uploads_by_shift(s, judge, shifts)
        docks = dict(s.execute(
            select(Shift.id, func.min(DockSession.started_at, type_=UTCDateTime))
            .join(Device, Device.serial == Shift.camera)
            .join(DockSession, (DockSession.device_id == Device.id) & (DockSession.started_at >= Shift.shift_end))
            .where(*shift_filter).group_by(Shift.id)).all())
    now = app.clock.now()
    rows = []
    for sh in shifts:
        fact = judge.shifts.by_id.get(sh.id) or shift_fact(sh)
        n, last = uploads.get(sh.id, (0, None))
        verdict = judge.shift(fact, n, last, docks.get(sh.id), now)
        rows.append({"id": sh.id, "deadline": verdict.deadline.at if verdict.deadline else None,
                     "deadline_rule": verdict.deadline.rule if verdict.deadline else None,
                     "article": verdict.deadline.article if verdict.deadline else None,
                     "status": verdict.status, "status_at": now})
        result.shifts[verdict.status] += 1
    for i in range(0, len(rows), BATCH):
        chunk = rows[i:i + BATCH]
        with app.changes.begin("ingestd") as ch:
            ch.lock(rollup.COMPLIANCE_LOCK)
            ch.session.execute(update(Shift), chunk)
            ch.record("compliance.shifts_recomputed", "shifts", str(chunk[0]["id"]), last=chunk[-1]["id"],
                      count=len(chunk), status=dict(Counter(r["status"] for r in chunk)))


def shift_fact(sh: Shift) -> ShiftFact:
    """A roster row as the judge reads it (no trip joined, no ruling)."""
    return ShiftFact(sh.id, sh.badge, sh.team, sh.shift_start, sh.shift_end, sh.assignment, sh.returned_at, sh.camera)


def shift_facts(s, shifts: list[Shift]) -> list[ShiftFact]:
    """Roster rows with what the team heads added to them, kept by officer and day: a ruling
    on the trip, a return the roster lacked (it wins: it is what happened) and an excuse."""
    if not shifts:
        return []
    days = (min(sh.day for sh in shifts), max(sh.day for sh in shifts))
    rulings = {(badge, day): {"could_store": could, "ruled_at": at} for badge, day, could, at in
               s.execute(select(TripRuling.badge, TripRuling.day, TripRuling.could_store, TripRuling.ruled_at)
                         .where(TripRuling.day.between(*days)))}
    returns = dict(((b, d), at) for b, d, at in s.execute(
        select(TripReturn.badge, TripReturn.day, TripReturn.returned_at).where(TripReturn.day.between(*days))))
    excused = set(s.execute(select(ShiftExcuse.badge, ShiftExcuse.day).where(ShiftExcuse.day.between(*days))).all())
    out = []
    for sh in shifts:
        key = (sh.badge, sh.day)
        fact = replace(shift_fact(sh), **rulings.get(key, {}), excused=key in excused)
        out.append(replace(fact, returned_at=returns[key]) if key in returns else fact)
    return out


def _uploads_by_shift(s, judge: Judge, shifts: list[Shift]) -> dict[int, tuple[int, datetime | None]]:
    """How many recordings each shift's camera brought, and when the last was stored: a
    recording counts for the shift the judge gives its time (its hours, or its trip until
    the return), the one rule that also names its officer."""
    cameras = sorted({sh.camera for sh in shifts if sh.camera})
    if not cameras:
        return {}
    counts: dict[int, tuple[int, datetime | None]] = {}
    # A trip's recordings run to its return, or with none entered yet, on: weeks at most.
    facts = [judge.shifts.by_id.get(sh.id) or shift_fact(sh) for sh in shifts]
    until = max(max(f.end, f.returned_at or f.end) for f in facts) + timedelta(days=RECENT_DAYS)
    query = (select(Device.serial, RECORDING_MADE, Recording.ingested_at)
             .join(Device, Device.id == Recording.device_id)
             .where(Device.serial.in_(cameras), Recording.kind != "sidecar",
                    RECORDING_MADE >= min(sh.shift_start for sh in shifts), RECORDING_MADE < until))
    wanted = {sh.id for sh in shifts}
    for serial, when, stored in s.execute(query.execution_options(yield_per=BATCH)):
        shift = judge.shifts.camera_at(serial, when)
        if shift is None or shift.id not in wanted:
            continue
        n, last = counts.get(shift.id, (0, None))
        counts[shift.id] = (n + 1, stored if last is None or stored > last else last)
    return counts
