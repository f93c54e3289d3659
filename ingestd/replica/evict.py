"""The dock's disk as a window onto the bucket: an original leaves the disk only when the
bucket has proven it can stand alone, and comes back when it is asked for.

An original leaves (`ingestd store evict`, and the daemon every [store] evict_every_minutes)
only when every one of these holds, checked at that moment:
  - [replica] is on, and the bucket holds the object at the version the disk holds;
  - that copy was read back and matched file by file (SHA-256) within [replica] reverify_days
    (read back now if not), and every file's version is locked in COMPLIANCE mode;
  - the bucket's lock covers the recording's retention end (长期保存: its whole term; held:
    the bucket holds it under a legal hold too; no end date yet — 依法, an open case, a period
    the unit has not set — only where [store] evict_open_retention says so, the sweep keeping
    the lock ahead);
  - it was docked more than [store] keep_local_days ago;
  - no job and no export is working on it, and no new version is being written (the
    recording's lock is held through the whole change).
It leaves whole: marked `leaving` (audited), its object directory moved out of the storage
root in one rename (the OCFL root stays valid), then marked `in_bucket` (audited) and the
moved directory removed. A crash between the steps is settled by the next pass: an object
still in the store stays (the mark is undone), one already moved out is in the bucket.
Oldest first, only while less than [store] free_target_pct of the disk is free."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from enum import StrEnum
from pathlib import Path

from sqlalchemy import func, select

from ingestd import dock_clock, failpoints
from ingestd.app import App
from ingestd.db.models import AuditEvent, DockSession, Eviction, Job, Recording, Replica, ReplicaVersion
from ingestd.db.states import EvictionState, RecordingStatus
from ingestd.durable import fsync_dir
from ingestd.errors import ReplicaError
from ingestd.evidence.retention import plan
from ingestd.findings import Finding
from ingestd.jobs.kinds import JobKind, JobStatus
from ingestd.logs import event
from ingestd.replica.bucket import bucket_of
from ingestd.replica.copy import RENEW_WITHIN
from ingestd.replica.original import clean_fetched
from ingestd.replica.readback import read_back

log = logging.getLogger("ingestd.evict")
ACTIVE = (JobStatus.HELD.value, JobStatus.QUEUED.value, JobStatus.RUNNING.value)
CLOCK_SLACK = timedelta(minutes=5)  # another process's entry a moment "ahead" is not a clock gone back
LOOK_AT = 2000  # candidates one pass looks at, oldest first: each costs a few queries and a read of its inventory


class Refusal(StrEnum):
    """Why an original stays on the disk (the `eviction_refused` finding's reason)."""

    NO_REPLICA = "no_replica"
    ELSEWHERE = "elsewhere"
    NOT_LOCAL = "not_local"
    DELETED = "deleted"
    TOO_RECENT = "too_recent"
    NOT_COPIED = "not_copied"
    COPY_BEHIND = "copy_behind"
    NOT_PROVEN = "not_proven"
    NOT_LOCKED = "not_locked"
    LOCK_SHORT = "lock_short"
    NO_END_DATE = "no_end_date"
    HOLD_NOT_IN_BUCKET = "hold_not_in_bucket"
    BUSY = "busy"
    BUCKET_AWAY = "bucket_away"
    CLOCK_OFF = "clock_off"


REASONS: dict[Refusal, tuple[str, str]] = {
    Refusal.NO_REPLICA: ("no replica bucket is configured: nothing leaves the disk", "未配置副本存储，原始文件一律保留在本地"),
    Refusal.ELSEWHERE: ("it is another dock's", "属于其他采集站"),
    Refusal.NOT_LOCAL: ("it is not on this disk", "不在本机磁盘上"),
    Refusal.DELETED: ("deleted under retention", "已按保存期限删除"),
    Refusal.TOO_RECENT: ("docked within keep_local_days", "采集未满本地保留天数"),
    Refusal.NOT_COPIED: ("not yet proven in the bucket", "尚未在副本存储中确认"),
    Refusal.COPY_BEHIND: ("a newer version is not yet in the bucket", "较新的版本尚未复制到副本存储"),
    Refusal.NOT_PROVEN: ("its bucket copy did not read back whole and matching", "副本回读校验未通过"),
    Refusal.NOT_LOCKED: ("a file of its bucket copy is not locked in COMPLIANCE mode", "副本中有文件未处于合规锁定"),
    Refusal.LOCK_SHORT: ("the bucket's lock ends before its retention does", "副本锁定期短于保存期限"),
    Refusal.NO_END_DATE: ("its retention has no end date yet (依法, an open case, no period set)",
                          "保存期限尚无截止日期（依法保存、案件未结或单位未定期限）"),
    Refusal.HOLD_NOT_IN_BUCKET: ("it is held, and the bucket does not hold it under a legal hold",
                                 "处于法律保全，但副本未设法律保全"),
    Refusal.BUSY: ("a job, an export or a new version is working on it", "有任务、导出或新版本正在处理"),
    Refusal.BUCKET_AWAY: ("the bucket cannot be reached now", "副本存储暂时无法连接"),
    Refusal.CLOCK_OFF: ("this dock's clock cannot be trusted now (off against its reference, or earlier than its "
                        "own last entry): ages and proofs are measured by it", "采集站时钟不可信（与参照时钟不符或早于其最近记录），"
                        "无法据此判断保留天数和校验时间"),
}


@dataclass(frozen=True)
class Candidate:
    recording_id: str
    object_id: str
    ingested_at: datetime
    bytes: int


@dataclass(frozen=True)
class Evicted:
    recording_id: str
    head: str
    files: int
    bytes: int


@dataclass(frozen=True)
class EvictionRun:
    """One pass: what left, what stayed and why, and the disk's free share before and after."""

    evicted: tuple[Evicted, ...]
    refused: tuple[Finding, ...]
    settled: int
    free_pct_before: float
    free_pct_after: float

    def as_dict(self, policy=None) -> dict:
        return {"evicted": [e.__dict__ for e in self.evicted], "evicted_bytes": sum(e.bytes for e in self.evicted),
                "refused": [f.as_dict(policy) for f in self.refused], "settled": self.settled,
                "free_pct_before": round(self.free_pct_before, 1), "free_pct_after": round(self.free_pct_after, 1)}


def refusal(rec_id: str, why: Refusal) -> Finding:
    en, zh = REASONS[why]
    return Finding("eviction_refused", {"recording_id": rec_id, "reason": why.value, "why": en, "why_zh": zh})


def free_pct(app: App) -> float:
    st = os.statvfs(app.store.root)
    return 100.0 * st.f_bavail / st.f_blocks if st.f_blocks else 100.0


def candidates(app: App, now: datetime) -> list[Candidate]:
    """This dock's local originals docked before the window and copied to the bucket, oldest
    first, at most LOOK_AT of them (a pass looks at each one in full)."""
    cutoff = now - timedelta(days=app.settings.store.keep_local_days)
    with app.db.reading() as s:
        q = (select(Recording.id, Recording.object_id, Recording.ingested_at, Recording.size)
             .join(DockSession, DockSession.id == Recording.dock_session_id)
             .join(Replica, Replica.recording_id == Recording.id)
             .outerjoin(Eviction, Eviction.recording_id == Recording.id)
             .where(DockSession.dock == app.settings.dock_name, Eviction.recording_id.is_(None),
                    Recording.status != RecordingStatus.DELETED, Recording.ingested_at < cutoff)
             .order_by(Recording.ingested_at, Recording.id).limit(LOOK_AT))
        return [Candidate(*row) for row in s.execute(q).all()]


def evict_due(app: App, limit: int | None = None, force: bool = False) -> EvictionRun:
    """The pass: settle what a crash left, then evict qualifying originals oldest first while
    the disk is below its free target (with `force`, every qualifying one)."""
    settled = settle(app)
    clean_fetched(app)
    before = free_pct(app)
    if not app.settings.replica.enabled:
        return EvictionRun((), (), settled, before, before)
    if not clock_trusted(app):
        return EvictionRun((), (refusal("*", Refusal.CLOCK_OFF),), settled, before, before)
    target = app.settings.store.free_target_pct
    evicted: list[Evicted] = []
    refused: list[Finding] = []
    for c in candidates(app, app.clock.now()):
        if (not force and free_pct(app) >= target) or (limit is not None and len(evicted) >= limit):
            break
        try:
            done = evict(app, c.recording_id)
        except ReplicaError as exc:  # the bucket went away: nothing left, the next pass tries again
            event(log, logging.WARNING, "store.evict_waiting", recording=c.recording_id, error=str(exc))
            refused.append(refusal(c.recording_id, Refusal.BUCKET_AWAY))
            break
        if isinstance(done, Evicted):
            evicted.append(done)
        else:
            refused.append(done)
    run = EvictionRun(tuple(evicted), tuple(refused), settled, before, free_pct(app))
    if evicted:
        event(log, logging.INFO, "store.evicted", recordings=len(evicted), bytes=sum(e.bytes for e in evicted),
              free_pct=round(run.free_pct_after, 1))
    return run


def clock_trusted(app: App) -> bool:
    """The window and the proof's age are measured by this dock's clock: nothing leaves while
    it is off against the database's or the cameras' (ingestd.dock_clock), or earlier than the
    last entry this dock wrote (a clock that went back)."""
    reading = dock_clock.check(app)
    if reading is not None and reading.off:
        return False
    with app.db.reading() as s:
        last = s.execute(select(func.max(AuditEvent.at)).where(AuditEvent.node == app.settings.dock_name)).scalar()
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)
    return last is None or last <= app.clock.now() + CLOCK_SLACK


def why_it_stays(app: App, rec_id: str, now: datetime) -> Refusal | None:
    """The first condition an original fails to leave the disk now, from the database alone
    (None: it may leave once its copy reads back)."""
    cfg = app.settings
    if not cfg.replica.enabled:
        return Refusal.NO_REPLICA
    with app.db.reading() as s:
        rec = s.get(Recording, rec_id)
        dock = s.get(DockSession, rec.dock_session_id).dock if rec is not None else None
        copy = s.get(Replica, rec_id)
        gone = s.get(Eviction, rec_id)
        jobs = s.execute(select(Job.kind, Job.payload).where(
            Job.status.in_(ACTIVE), (Job.subject == rec_id) | (Job.kind == JobKind.EXPORT.value))).all()
    if rec is None or rec.status == RecordingStatus.DELETED:
        return Refusal.DELETED
    if dock != cfg.dock_name:
        return Refusal.ELSEWHERE
    if gone is not None or not app.store.exists(rec.object_id):
        return Refusal.NOT_LOCAL
    if rec.ingested_at > now - timedelta(days=cfg.store.keep_local_days):
        return Refusal.TOO_RECENT
    if copy is None:
        return Refusal.NOT_COPIED
    if copy.head != app.store.inventory(rec.object_id)["head"]:
        return Refusal.COPY_BEHIND
    if any(kind != JobKind.EXPORT.value or rec_id in (payload or {}).get("recordings", []) for kind, payload in jobs):
        return Refusal.BUSY
    item = plan(app, recording_ids=[rec_id])[0]
    if item.state == "held":
        if not copy.legal_hold:
            return Refusal.HOLD_NOT_IN_BUCKET
    elif item.state == "long_term":
        made = rec.start_corrected or rec.start or rec.ingested_at
        if copy.retain_until < made + timedelta(days=365 * cfg.replica.long_term_years):
            return Refusal.LOCK_SHORT
    elif item.due_on is not None:
        if copy.retain_until < datetime.combine(item.due_on, time(), cfg.tz):
            return Refusal.LOCK_SHORT
    elif not cfg.store.evict_open_retention:
        return Refusal.NO_END_DATE
    elif copy.retain_until < now + RENEW_WITHIN:
        return Refusal.LOCK_SHORT
    return None


def evict(app: App, rec_id: str) -> Evicted | Finding:
    """One original off the disk, if every condition holds now; else why it stays."""
    now = app.clock.now()
    why = why_it_stays(app, rec_id, now)
    if why is not None:
        return refusal(rec_id, why)
    why = _bucket_stands_alone(app, rec_id, now)
    if why is not None:
        return refusal(rec_id, why)
    with app.changes.begin("ingestd") as ch:
        # This dock's changes run one at a time (its audit head): a 说明 or 证明对象 that wrote a
        # version first is seen below as a copy behind; one after this mark waits for the move
        # (ingestd.replica.versions). The recording's lock keeps a recall out meanwhile.
        ch.lock(f"recording:{rec_id}")
        why = why_it_stays(app, rec_id, now)
        if why is not None:
            return refusal(rec_id, why)
        rec = ch.session.get(Recording, rec_id)
        copy = ch.session.get(Replica, rec_id)
        ch.session.add(Eviction(recording_id=rec_id, state=EvictionState.LEAVING, head=copy.head, files=copy.files,
                                bytes=copy.bytes, dock=app.settings.dock_name, at=now))
        ch.record("store.evicting", "recording", rec_id, head=copy.head, files=copy.files, bytes=copy.bytes,
                  proven_at=copy.proven_at.isoformat(), retain_until=copy.retain_until.isoformat(),
                  legal_hold=copy.legal_hold)
        object_dir = app.store.object_path(rec.object_id)
    failpoints.hit("evict.marked")
    _move_out(app, rec_id, object_dir)
    failpoints.hit("evict.moved")
    _mark_in_bucket(app, rec_id, "evicted")
    _remove_moved(app, rec_id)
    return Evicted(rec_id, copy.head, copy.files, copy.bytes)


def _bucket_stands_alone(app: App, rec_id: str, now: datetime) -> Refusal | None:
    """The bucket's copy checked now: every file's recorded version there and locked, and read
    back in full if its last proof is older than [replica] reverify_days."""
    with app.db.reading() as s:
        copy = s.get(Replica, rec_id)
        versions = s.execute(select(ReplicaVersion).where(ReplicaVersion.recording_id == rec_id)).scalars().all()
    if len(versions) != copy.files:
        return Refusal.NOT_COPIED  # copied before versions were recorded: the next copy records them
    bucket = bucket_of(app)
    for v in versions:
        there = bucket.stored(v.key, v.version_id)
        if there is None:
            return Refusal.NOT_PROVEN
        if not there.locked or (there.retain_until is not None and there.retain_until < copy.retain_until):
            return Refusal.NOT_LOCKED
        if copy.legal_hold and not there.legal_hold:
            return Refusal.HOLD_NOT_IN_BUCKET
    fresh = now - timedelta(days=app.settings.replica.reverify_days)
    if copy.proven_at is None or copy.proven_at < fresh or copy.proven_head != copy.head:
        if not read_back(app, rec_id).ok:
            return Refusal.NOT_PROVEN
    return None


def _outside(app: App, rec_id: str) -> Path:
    """Where a leaving object is moved: this process's staging, on the store's filesystem (one
    rename) and outside the storage root (which stays valid OCFL). A process that dies with
    one there leaves it to the next process's staging sweep: the bucket holds it."""
    return app.open_staging().dir / f"leaving-{rec_id}"


def _move_out(app: App, rec_id: str, object_dir: Path) -> None:
    out = _outside(app, rec_id)
    os.rename(object_dir, out)
    fsync_dir(object_dir.parent)
    fsync_dir(out.parent)
    app.store.prune_empty_parents(object_dir)


def _mark_in_bucket(app: App, rec_id: str, how: str, action: str = "store.evicted") -> None:
    with app.changes.begin("ingestd") as ch:
        row = ch.session.get(Eviction, rec_id)
        row.state = EvictionState.IN_BUCKET
        ch.record(action, "recording", rec_id, head=row.head, files=row.files, bytes=row.bytes, how=how)


def _remove_moved(app: App, rec_id: str) -> None:
    out = _outside(app, rec_id)
    if out.exists():
        shutil.rmtree(out)


def settle(app: App) -> int:
    """What a crash left half done, finished the safe way: an object still in the store stays
    (its `leaving` mark undone); one already moved out is in the bucket (its proof was taken
    before the mark). A recall cut off: kept if its object came in whole, else its partial
    files removed and the recording in the bucket again. Returns how many were settled."""
    with app.db.reading() as s:
        cut = s.execute(select(Eviction.recording_id, Eviction.state, Recording.object_id)
                        .join(Recording, Recording.id == Eviction.recording_id)
                        .where(Eviction.state.in_([EvictionState.LEAVING, EvictionState.RETURNING]),
                               Eviction.dock == app.settings.dock_name)).all()
    for rec_id, state, object_id in cut:
        here = app.store.exists(object_id)
        if state == EvictionState.LEAVING and here:
            with app.changes.begin("ingestd") as ch:
                ch.session.delete(ch.session.get(Eviction, rec_id))
                ch.record("store.evict_undone", "recording", rec_id, reason="cut off before its object left")
        elif state == EvictionState.LEAVING:
            _mark_in_bucket(app, rec_id, "settled after a cut-off eviction")
        elif here:  # its declaration goes in last: an object the store sees is whole
            with app.changes.begin("ingestd") as ch:
                ch.session.delete(ch.session.get(Eviction, rec_id))
                ch.record("store.recalled", "recording", rec_id, how="settled after a cut-off recall")
        else:
            folder = app.store.object_path(object_id)
            if folder.is_dir():  # no declaration: only what a cut-off recall moved in, all in the bucket
                shutil.rmtree(folder)
                app.store.prune_empty_parents(folder)
            _mark_in_bucket(app, rec_id, "settled after a cut-off recall", "store.recall_failed")
    return len(cut)
