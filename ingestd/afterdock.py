"""What follows what: the one place that says which work a dock makes necessary, in which
order, and who does it.

  a recording committed  → SM3 of the stored copy, the full probe (mediainfo, packet
                            timestamps), and the derivatives the media policy asks for;
  a session released     → its timeline (clock, activities, interruptions), then its
                            compliance (officers, deadlines, statuses), then 制作方法/制作时间/
                            制作人 — each after the stage before it, over the whole session;
  an owner, roster, calendar or policy change → compliance and 制作人 computed again.

The dock path (ingestd.ingest) only asks for these jobs through `AfterDock`, in its own
transactions; it imports nothing from the layers that do them. Every job is durable, so a
crash anywhere leaves work that the next process finishes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from importlib.metadata import version as package_version
from sqlalchemy import exists, func, select

from ingestd.alerts.dispatch import sweep as alerts_sweep
from ingestd.app import App
from ingestd.db.engine import again_when_transient
from ingestd.changes import Change
from ingestd.compliance.recompute import recompute, recompute_sessions
from ingestd.compliance.roster_import import write_roster
from ingestd.compliance.shift_actions import write_excuse, write_return
from ingestd.compliance.trips import write_ruling
from ingestd.db.models import (RECORDING_MADE, Device, Incident, Job, Officer, Recording, RecordingCompliance, Recovery,
                               Replica, ReplicaVersion, RulesInForce)
from ingestd.db.states import RecordingKind, RecordingStatus, RecoveryStatus
from ingestd.errors import NoSpaceError, UserError
from ingestd.findings import Finding
from ingestd.ingest.space import low_space
from ingestd.evidence import digest, metadata
from ingestd.evidence.export_requests import export_job
from ingestd.evidence.holds import adopt_bucket_hold, held_recordings
from ingestd.rebuild import rebuild_index
from ingestd.replica.copy import bucket_problem, replicate_job
from ingestd.replica.restore import Restore, restore
from ingestd.ingest import pipeline
from ingestd.ingest.commit import DockInfo
from ingestd.ingest.outcome import DockRun
from ingestd.jobs import queue
from ingestd.jobs.kinds import (AFTER_DOCK, DERIVATIVES, IMPORTANT_BOOST, REPLICATION, RULES, SESSION_KINDS,
                                JobKind)
from ingestd.jobs.runner import Batching, Runner
from ingestd.logs import event
from ingestd.lookup import recording_for_job
from ingestd.media import derivatives, facts, recovered
from ingestd.timeline.process import timeline_job

log = logging.getLogger("ingestd.afterdock")
PROBED_KINDS = ("video", "audio", "photo")  # sidecars (camera logs) are kept, never probed


class AfterDock:
    """The jobs a dock asks for (ingestd.ingest.followups.FollowUps)."""

    def __init__(self, app: App):
        self.app = app

    def session_started(self, ch: Change, session_id: str, now: datetime) -> None:
        queue.enqueue(ch, [queue.JobSpec(kind, session_id, group=session_id, held=True) for kind in SESSION_KINDS],
                      now)

    def recordings_committed(self, ch: Change, recs: list[Recording], session_id: str, now: datetime) -> None:
        specs = []
        for rec in recs:
            specs.append(queue.JobSpec(JobKind.SM3, rec.id, {"size": rec.size}, group=session_id))
            if rec.kind in PROBED_KINDS:
                specs.append(queue.JobSpec(JobKind.PROBE, rec.id, {"size": rec.size}, group=session_id))
            if rec.status == RecordingStatus.DAMAGED and rec.kind == RecordingKind.VIDEO:
                # Before the session's timeline: the clip's span is what the recovery finds.
                specs.append(queue.JobSpec(JobKind.RECOVER, rec.id, {"size": rec.size}, group=session_id))
            specs += derivative_specs(self.app, rec)
            if self.app.settings.replica.enabled:
                specs.append(queue.JobSpec(JobKind.REPLICATE, rec.id))
        specs += _recoveries_waiting(ch, recs)
        queue.enqueue(ch, specs, now)


def _recoveries_waiting(ch: Change, recs: list[Recording]) -> list[queue.JobSpec]:
    """A healthy recording of a camera whose damaged recordings waited for a reference: they
    are recovered now (in their own session's group, where their bytes are)."""
    devices = {r.device_id for r in recs if r.device_id is not None and r.status == RecordingStatus.OK
               and r.kind == RecordingKind.VIDEO}
    if not devices:
        return []
    waiting = ch.session.execute(
        select(Recording.id, Recording.dock_session_id, Recording.size)
        .join(Recovery, Recovery.recording_id == Recording.id)
        .where(Recording.device_id.in_(devices), Recovery.status == RecoveryStatus.WAITING_REFERENCE)).all()
    return [queue.JobSpec(JobKind.RECOVER, rid, {"size": size}, group=sid) for rid, sid, size in waiting]


def derivative_specs(app: App, rec: Recording, asked: bool = False, recovered: bool = False) -> list[queue.JobSpec]:
    """The derivatives the media policy wants for a recording (all of them when a person
    asks for them), important recordings first. A damaged original has none of its own: they
    are made from what its recovery found (`recovered`), once it has found something."""
    if rec.kind != "video" or (rec.status == RecordingStatus.DAMAGED and not recovered):
        return []
    policy = app.settings.media.proxy_policy
    if not asked and (policy == "on_demand" or (policy == "important_and_evidence" and not rec.important)):
        return []
    kinds = list(DERIVATIVES)
    boost = IMPORTANT_BOOST if (rec.important or asked) else 0
    return [queue.JobSpec(k, rec.id, priority=RULES[k].priority - boost) for k in kinds]


# ----- the handlers --------------------------------------------------------------------------------


def _session_compliance(app: App, job: queue.Claimed) -> queue.Done:
    done = queue.Done(job.id, recompute_sessions(app, [job.subject]).as_dict())
    if app.settings.alerts.enabled:
        # What a dock brings that is reported at once (a damaged file, a device fault; an
        # interruption where the policy says 立即) is alerted now, when the officer is known.
        alerts_sweep(app)
    return done


def _session_evidence(app: App, job: queue.Claimed) -> queue.Done:
    return queue.Done(job.id, {"rederived": metadata.fill_sessions(app, [job.subject])})


def _recompute(app: App, job: queue.Claimed) -> queue.Done:
    """Compliance and 制作人 again over the scope a change touched."""
    scope = job.payload
    if "device" in scope:
        window, ids = _device_scope(app, scope["device"])
        result = recompute(app, window).as_dict() if window else {}
        return queue.Done(job.id, {"recomputed": result, "evidence_rederived": metadata.fill(app, ids)})
    if "from" in scope:
        lo, hi = date.fromisoformat(scope["from"]), date.fromisoformat(scope["to"])
        result = recompute(app, (lo, hi)).as_dict()
        tz = app.settings.tz
        makers = metadata.fill_window(app, datetime.combine(lo, time(), tz),
                                      datetime.combine(hi + timedelta(days=1), time(), tz))
        return queue.Done(job.id, {"recomputed": result, "evidence_rederived": makers})
    return queue.Done(job.id, {"recomputed": recompute(app).as_dict(), "evidence_rederived": metadata.fill(app)})


def _device_scope(app: App, serial: str) -> tuple[tuple[date, date] | None, list[str]]:
    when = RECORDING_MADE
    with app.db.reading() as s:
        rows = s.execute(select(Recording.id, when).join(Device, Recording.device_id == Device.id)
                         .where(Device.serial == serial)).all()
    days = [w.astimezone(app.settings.tz).date() for _id, w in rows if w is not None]
    window = (min(days) - timedelta(days=1), max(days) + timedelta(days=1)) if days else None
    return window, [rid for rid, _w in rows]


def _recover(app: App, job: queue.Claimed) -> queue.Done:
    """Recovery, then what follows it: the derivatives made from the recovered file, and the
    timeline of the recording's session again when it ran before (the clip has a span now)."""
    done = recovered.recover_job(app, job)
    if (done.output or {}).get("status") == RecoveryStatus.RECOVERED:
        rec = recording_for_job(app, job.subject)
        if rec is not None:
            with app.changes.begin("ingestd") as ch:
                queue.enqueue(ch, derivative_specs(app, rec, recovered=True)
                              + [queue.JobSpec(JobKind.TIMELINE, rec.dock_session_id, group=rec.dock_session_id)],
                              app.clock.now())
    return done


def _derivative(app: App, job: queue.Claimed) -> queue.Done:
    rec = recording_for_job(app, job.subject)
    if rec is None:
        return queue.Done(job.id, {"skipped": "deleted under retention"})
    output, partial = derivatives.make(app, rec, job.kind.value)
    return queue.Done(job.id, output, partial)


HANDLERS = {
    JobKind.SM3: digest.sm3_job,
    JobKind.PROBE: facts.probe_job,
    JobKind.TIMELINE: timeline_job,
    JobKind.COMPLIANCE: _session_compliance,
    JobKind.EVIDENCE: _session_evidence,
    JobKind.RECOMPUTE: _recompute,
    JobKind.RECOVER: _recover,
    JobKind.PROXY: _derivative,
    JobKind.HLS: _derivative,
    JobKind.THUMBNAILS: _derivative,
    JobKind.EXPORT: export_job,
    JobKind.REPLICATE: replicate_job,
}
# Small SM3 and probe jobs are claimed together (one claim and one finish for many files),
# up to about a second of one core's hashing, so that large files still spread over threads.
BATCHING = {JobKind.SM3: Batching(16, 256 << 20), JobKind.PROBE: Batching(16, 2 << 30)}


def replicate_pending(app: App, work: bool = False) -> dict:
    """Ask for a copy of every recording the bucket lacks, or holds at an older version or under
    terms it no longer has (a retention running out, a hold placed or lifted): the daemon's
    sweep and `ingestd replica sync`; with `work`, done in this process."""
    from ingestd.replica.status import changed_since_copied, terms_behind

    if not app.settings.replica.enabled:
        raise UserError("[replica] is not enabled")
    bucket_problem(app)  # a bucket without Object Lock is refused before anything is asked of it
    with app.db.reading() as s:
        missing = list(s.execute(select(Recording.id).outerjoin(Replica, Replica.recording_id == Recording.id)
                                 .where(Replica.recording_id.is_(None), Recording.status != "deleted")).scalars())
        changed = changed_since_copied(s)
        behind = terms_behind(s, app.clock.now())
        # Copied before the dock recorded which version of each file it proved: read back and
        # recorded once (a restore and an eviction go by those versions).
        unrecorded = list(s.execute(
            select(Replica.recording_id).join(Recording, Recording.id == Replica.recording_id)
            .where(Recording.status != RecordingStatus.DELETED,
                   ~exists().where(ReplicaVersion.recording_id == Replica.recording_id))).scalars())
    ids = list(dict.fromkeys(missing + changed + behind + unrecorded))
    for start in range(0, len(ids), 500):
        with app.changes.begin("ingestd") as ch:
            batch = ids[start:start + 500]
            queue.enqueue(ch, [queue.JobSpec(JobKind.REPLICATE, rid) for rid in batch], app.clock.now())
            ch.record("replica.asked", "recordings", "replica", recordings=len(batch))
    done = runner(app, REPLICATION).run_until_idle() if work and ids else 0
    return {"asked": len(ids), "done": done}


def rebuild(app: App) -> dict:
    """`ingestd store rebuild-index`: the index recreated from the store, and what a dock asks
    for after it (AfterDock) asked for again and its after-dock part done here."""
    result = rebuild_index(app, AfterDock(app))
    result["jobs_done"] = follow_through(app)
    return result


def restore_from_replica(app: App, rec_id: str | None = None) -> tuple[Restore, dict]:
    """`ingestd store restore --from-replica`: the originals back from the bucket, the index
    rebuilt from them, the legal holds the bucket keeps taken back in as holds, and then what
    follows a dock: the rebuilt sessions' timeline, compliance and evidence metadata; every
    restored recording's derivatives (they were on the lost disk) and its copy proven again."""
    restored = restore(app, rec_id)
    index = rebuild_index(app, AfterDock(app))
    now = app.clock.now()
    with app.changes.begin("ingestd") as ch:
        held = held_recordings(ch.session)
        index["holds_brought_back"] = 0
        for obj in restored.restored:
            if obj.legal_hold and obj.recording_id not in held:
                adopt_bucket_hold(ch, obj.recording_id, restored.bucket, now)
                index["holds_brought_back"] += 1
        recs = ch.session.execute(select(Recording).where(
            Recording.id.in_([o.recording_id for o in restored.restored]),
            Recording.status != RecordingStatus.DELETED)).scalars().all()
        specs = [spec for rec in recs for spec in derivative_specs(app, rec)]
        specs += [queue.JobSpec(JobKind.REPLICATE, rec.id) for rec in recs]
        queue.enqueue(ch, specs, now)
    # The copies recorded again here, not left to a daemon: `replica status` right after a
    # restore says what the bucket holds (and a sweep writes the dock's version back over any
    # version someone else put on top of it).
    index["jobs_done"] = follow_through(app) + runner(app, REPLICATION).run_until_idle()
    return restored, index


def runner(app: App, kinds: tuple[JobKind, ...] = AFTER_DOCK, threads: int | None = None,
           name: str = "jobs") -> Runner:
    return Runner(app, HANDLERS, kinds, threads or app.settings.jobs_workers, name, BATCHING)


def follow_through(app: App, groups: list[str] | None = None, kinds: tuple[JobKind, ...] = AFTER_DOCK,
                   threads: int | None = None) -> int:
    """Work the after-dock jobs in this process until `groups` (this command's sessions) are
    done, taking on whatever a crashed process left too. Returns how many jobs it did."""
    return runner(app, kinds, threads).run_until_idle(groups)


# ----- docking ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DockRequest:
    sources: list[Path]
    profile: str | None = None
    device: str | None = None
    device_source: str | None = None
    camera_clock: datetime | None = None
    only: set[str] | None = None
    info: DockInfo = DockInfo()


def dock(app: App, req: DockRequest, stop: threading.Event | None = None,
         offloader: pipeline.Offloader | None = None) -> list[DockRun]:
    """Offload and release. The daemon passes its one offloader, so that cameras docked
    together share the threads."""
    profile = app.profile(req.profile)
    app.check_rules()  # a broken policy or calendar fails before anything is copied

    def before_copying() -> None:  # each step idempotent: run again whole if the database blinks
        app.settle_unreleased()
        refuse_when_low(app)
        note_rules(app)

    again_when_transient(before_copying, app.settings.database_wait_s, "dock.prepare")
    follow = AfterDock(app)
    own = offloader is None
    offloader = offloader or pipeline.Offloader(app.settings.offload_workers)
    try:
        return [pipeline.ingest_path(app, src, profile, req.device, offloader, follow, req.only, req.info, stop,
                                     req.camera_clock, req.device_source) for src in req.sources]
    finally:
        if own:
            offloader.close()


def refuse_when_low(app: App) -> None:
    """A dock is refused before it copies anything while a disk is below its reserve; the
    admins hear of it (one disk_full incident, not another while that one is open)."""
    places = [("store", app.data.store)] + ([("database", Path(app.db.folder))] if app.db.folder else [])
    low = low_space(places, app.settings.ingest.reserve_mb)
    if not low:
        return
    first = low[0]
    try:
        with app.changes.begin("ingestd") as ch:
            open_one = ch.session.execute(select(Incident.id).where(
                Incident.code == "disk_full", Incident.status == "open", Incident.dock_session_id.is_(None))).first()
            if open_one is None:
                finding = Finding("disk_full", {"where": first.path, "session": "-"})
                incident = Incident(code="disk_full", detail=first.message, facts=finding.detail,
                                    opened_at=app.clock.now(), status="open")
                ch.session.add(incident)
                ch.session.flush()
                ch.record("incident.opened", "incident", str(incident.id), code="disk_full", where=first.path,
                          free_mb=first.free_mb, reserve_mb=first.reserve_mb)
    except NoSpaceError as exc:  # the database's own disk: the refusal below says it all the same
        event(log, logging.ERROR, "dock.refused_unrecorded", error=str(exc))
    event(log, logging.ERROR, "dock.refused", reason=first.message)
    raise NoSpaceError(f"dock refused: {first.message}; free space, then dock again")


def ingest(app: App, sources: list[Path], profile: str | None = None, device: str | None = None,
           camera_clock: datetime | None = None, wait: bool = True) -> list[DockRun]:
    """`ingestd ingest`: dock, then (unless told not to wait) see the after-dock jobs of these
    sessions through, so that interruptions, deadlines and 制作人 are there on return."""
    runs = dock(app, DockRequest(sources, profile, device, camera_clock=camera_clock))
    if wait:
        follow_through(app, [r.session_id for r in runs])
    return runs


# ----- changes that make recomputes necessary -----------------------------------------------------


def ask_recompute(ch: Change, now: datetime, scope: dict) -> str:
    """Ask for compliance and 制作人 again over a scope; returns the job's group, to wait for it."""
    spec = queue.recompute_spec(scope)
    queue.enqueue(ch, [spec], now)
    return spec.group


def recompute_result(app: App, group: str) -> dict:
    """Wait for (work) a recompute asked for, and say what it did."""
    follow_through(app, [group])
    with app.db.reading() as s:
        output = s.execute(select(Job.output).where(Job.group_key == group, Job.kind == JobKind.RECOMPUTE)).scalar()
    return output or {}


def import_roster(app: App, roster, actor: str) -> dict:
    """`ingestd roster import`: the roster in one transaction, then its recompute seen through."""
    result = write_roster(app, roster, actor)
    return {**result, **recompute_result(app, result.pop("recompute_group"))}


def rule_trip(app: App, badge: str, day: date, could_store: bool, reason: str, actor: str) -> dict:
    """`ingestd compliance trip`: a team head's ruling on a trip, then its recompute seen through."""
    result = write_ruling(app, badge, day, could_store, reason, actor)
    return {**result, **recompute_result(app, result.pop("recompute_group"))}


def excuse_shift(app: App, badge: str, day: date, reason: str, actor: str) -> dict:
    """`ingestd compliance excuse`: a team head's reason for an overdue shift, then its recompute."""
    done = write_excuse(app, badge, day, reason, actor)
    return {**done.as_dict(), **recompute_result(app, done.recompute_group)}


def enter_return(app: App, badge: str, day: date, returned_at: datetime, actor: str) -> dict:
    """`ingestd compliance return`: the 返回单位时间 of a trip, then its recompute."""
    done = write_return(app, badge, day, returned_at, actor)
    return {**done.as_dict(), **recompute_result(app, done.recompute_group)}


def set_owner(app: App, serial: str, badge: str, actor: str) -> dict:
    """`ingestd devices owner`: who a camera is issued to decides the officer of every
    recording the roster does not cover, so compliance and 制作人 follow the change."""
    with app.changes.begin(actor) as ch:
        device = ch.session.execute(select(Device).where(Device.serial == serial)).scalar_one_or_none()
        if device is None:
            raise UserError(f"no camera with serial {serial} (it registers itself on its first dock)")
        if ch.session.get(Officer, badge) is None:
            raise UserError(f"no officer with badge {badge} (import the roster first)")
        previous, device.owner_badge = device.owner_badge, badge
        ch.record("device.owner_set", "device", serial, owner=badge, previous=previous)
        group = ask_recompute(ch, app.clock.now(), {"device": serial})
    return {"serial": serial, "owner": badge, "previous": previous, **recompute_result(app, group)}


def rules_fingerprint(app: App) -> tuple[str, dict]:
    """What the deadlines depend on besides the data: the policy profile in force and the
    working-day calendar (the library's tables and the admin's override file)."""
    calendar_file = app.settings.calendar_path
    detail = {"policy": app.policy.name,
              "policy_sha256": hashlib.sha256(app.policy.model_dump_json().encode()).hexdigest(),
              "calendar_library": package_version("chinesecalendar"),
              "calendar_override_sha256": hashlib.sha256(calendar_file.read_bytes()).hexdigest()
              if calendar_file is not None and calendar_file.is_file() else None}
    return hashlib.sha256(json.dumps(detail, sort_keys=True).encode()).hexdigest(), detail


def note_rules(app: App) -> bool:
    """Compare the rules in force with those the figures were computed under; on a change,
    ask for every deadline again. Returns True when a recompute was asked for."""
    fingerprint, detail = rules_fingerprint(app)
    with app.db.reading() as s:
        known = s.get(RulesInForce, "deadlines")
    if known is not None and known.fingerprint == fingerprint:
        return False
    now = app.clock.now()
    with app.changes.begin("ingestd") as ch:
        ch.lock("rules:deadlines")  # every dock starting at once notes a change once
        row = ch.session.get(RulesInForce, "deadlines")
        if row is not None and row.fingerprint == fingerprint:
            return False  # another process noted it first
        previous = row.detail if row is not None else None
        if row is None:
            row = RulesInForce(name="deadlines")
            ch.session.add(row)
        row.fingerprint, row.detail, row.noted_at = fingerprint, detail, now
        ch.record("rules.changed", "rules", "deadlines", now=detail, before=previous)
        computed = ch.session.execute(select(func.count()).select_from(RecordingCompliance)).scalar_one()
        if computed:
            ask_recompute(ch, now, {})
    event(log, logging.INFO, "rules.changed", policy=detail["policy"], recompute=bool(computed))
    return bool(computed)


def work_jobs(app: App, kinds: tuple[JobKind, ...], threads: int | None = None) -> int:
    """`ingestd jobs work --until-idle`: whatever of these kinds can be claimed now."""
    app.open_staging()  # sweep what dead processes left: their sessions' held jobs are released
    return runner(app, kinds, threads).run_until_idle()

