"""The durable job queue, in the database so that any process, or any dock sharing it,
can work it, and a crash at any point leaves work that the next process finishes.

Jobs are enqueued inside the transaction of the change that makes them necessary (a
recording committed, a session released, an owner changed), claimed with a lease that
the holder renews while it works, and finished or failed through the audited door. A
job whose holder died is taken again once its lease runs out — at once when the holder
was a process on this host that is gone. A job failing `max_attempts` times stays
`failed` with its error until someone retries it. Jobs must be idempotent: running one
twice gives the same result.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from ingestd.changes import Change
from ingestd.db.models import DockSession, Job, Recording
from ingestd.errors import UserError
from ingestd.jobs.kinds import RULES, STORE_BOUND, JobKind, JobStatus, job_key

PENDING = (JobStatus.HELD, JobStatus.QUEUED, JobStatus.RUNNING)
# A job whose process died under it (a power cut, kill -9) is taken again this many times
# more than its failures allow: only one that keeps dying with its process is given up.
LOST_EXTRA = 10
BACKOFF_S = (30, 60, 120, 300, 900, 3600)
ERROR_KEEP = 2000


@dataclass(frozen=True)
class JobSpec:
    """A job to ask for. `held` jobs wait for `release_group` (their session's release)."""

    kind: JobKind
    subject: str
    payload: dict | None = None
    group: str | None = None
    priority: int | None = None  # None: the kind's own
    held: bool = False


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: JobKind
    subject: str
    payload: dict
    attempt: int
    group: str | None


def recompute_spec(scope: dict) -> JobSpec:
    """Compliance and 制作人 again over a scope a change touched: {"device": serial},
    {"from": date, "to": date}, or {} for everything. Its group is its own, to wait for it."""
    subject = ("device:" + scope["device"] if "device" in scope else
               f"window:{scope['from']}:{scope['to']}" if "from" in scope else "all")
    return JobSpec(JobKind.RECOMPUTE, subject, scope, group=hashlib.sha256(subject.encode()).hexdigest()[:32])


def worker_id(thread: str | int | None = None) -> str:
    """host:pid:start[/thread]: enough to tell, on this host, whether the holder still lives
    (a pid can be reused; its start time cannot)."""
    base = f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid())}"
    return base if thread is None else f"{base}/{thread}"


def _start_ticks(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            # Field 22 (start time) after the command name, which may hold spaces: split after ')'.
            return fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return "?"


def holder_is_dead(worker: str | None) -> bool:
    """True only when the holder was a process on this host that no longer runs."""
    if not worker:
        return False
    host, _, rest = worker.partition(":")
    if host != socket.gethostname():
        return False
    pid_text, _, start = rest.split("/", 1)[0].partition(":")
    if not pid_text.isdigit():
        return False
    return _start_ticks(int(pid_text)) != start


def enqueue(ch: Change, specs: Iterable[JobSpec], now: datetime) -> int:
    """Ask for these jobs in the caller's transaction. A job still to do is left as it is; one
    running is marked to run once more when it finishes; a finished or failed one is queued
    again. Safe against another process asking for the same job at the same moment."""
    by_key = {job_key(s.kind, s.subject): s for s in specs}
    if not by_key:
        return 0
    existing = dict(ch.session.execute(select(Job.key, Job.status).where(Job.key.in_(list(by_key)))).all())
    new = [_row(spec, now) for key, spec in by_key.items() if key not in existing]
    if new:
        insert = (postgresql.insert if ch.session.bind.dialect.name == "postgresql" else sqlite.insert)(Job.__table__)
        ch.session.execute(insert.on_conflict_do_nothing(index_elements=["key"]), new)
    again = [key for key, state in existing.items() if state in (JobStatus.DONE, JobStatus.FAILED)]
    running = [key for key, state in existing.items() if state == JobStatus.RUNNING]
    for key in again:
        spec = by_key[key]
        ch.session.execute(update(Job).where(Job.key == key).values(
            status=(JobStatus.HELD if spec.held else JobStatus.QUEUED).value, attempts=0, error=None,
            not_before=None, payload=spec.payload, group_key=spec.group,
            stage=RULES[spec.kind].stage if spec.group else 0, rerun=False, updated_at=now, finished_at=None))
    if running:
        ch.session.execute(update(Job).where(Job.key.in_(running)).values(rerun=True, updated_at=now))
    kinds: dict[str, int] = {}
    for spec in by_key.values():
        kinds[spec.kind.value] = kinds.get(spec.kind.value, 0) + 1
    first = next(iter(by_key.values()))
    ch.record("jobs.queued", "jobs", first.group or first.subject, kinds=kinds, new=len(new),
              requeued=len(again), rerun=len(running))
    return len(new) + len(again) + len(running)


def _row(spec: JobSpec, now: datetime) -> dict:
    rule = RULES[spec.kind]
    return {"key": job_key(spec.kind, spec.subject), "kind": spec.kind.value, "subject": spec.subject,
            "payload": spec.payload, "group_key": spec.group, "stage": rule.stage if spec.group else 0,
            "priority": rule.priority if spec.priority is None else spec.priority,
            "status": (JobStatus.HELD if spec.held else JobStatus.QUEUED).value, "attempts": 0,
            "max_attempts": rule.max_attempts, "not_before": None, "lease_until": None, "worker": None,
            "rerun": False, "error": None, "output": None, "partial": False, "created_at": now,
            "updated_at": now, "finished_at": None}


def release_group(ch: Change, group: str, now: datetime) -> int:
    """The session is released (or was interrupted): its held jobs may run."""
    held = list(ch.session.execute(select(Job.id).where(Job.group_key == group, Job.status == JobStatus.HELD))
                .scalars())
    if held:  # a write with nothing to record would be refused by the door
        ch.session.execute(update(Job).where(Job.id.in_(held)).values(status=JobStatus.QUEUED, updated_at=now))
        ch.record("jobs.released", "dock_session", group, jobs=len(held))
    return len(held)


def _due(now: datetime):
    """Not waiting out a retry backoff."""
    return or_(Job.not_before.is_(None), Job.not_before <= now)


def _claimable(now: datetime):
    earlier = aliased(Job)
    blocked = exists().where(earlier.group_key == Job.group_key, earlier.stage < Job.stage,
                             earlier.status.in_([s.value for s in PENDING]))
    ready = or_(and_(Job.status == JobStatus.QUEUED, Job.attempts < Job.max_attempts, _due(now)),
                and_(Job.status == JobStatus.RUNNING, Job.lease_until < now,
                     Job.attempts < Job.max_attempts + LOST_EXTRA))
    return and_(ready, or_(Job.group_key.is_(None), ~blocked))


def _at_home(dock: str):
    """Jobs this dock can do where docks share the database but each keeps its own store: what
    follows another dock's session runs at that dock, work on a recording's bytes at the
    dock whose session stored them (its home), and an export at the dock whose console asked
    for it (it is written to that dock's exports folder). Everything else (unit-wide jobs, a
    roster's recompute) runs at any dock."""
    other_session = exists().where(DockSession.id == Job.group_key, DockSession.dock != dock)
    other_home = exists().where(Recording.id == Job.subject, DockSession.id == Recording.dock_session_id,
                                DockSession.dock != dock)
    asked_elsewhere = Job.payload["dock"].as_string() != dock  # NULL (asked before docks were named): anywhere
    return and_(~other_session, or_(Job.kind.not_in([k.value for k in STORE_BOUND]), ~other_home),
                or_(Job.kind != JobKind.EXPORT.value, ~func.coalesce(asked_elsewhere, False)))


def claim(app, worker: str, kinds: Iterable[JobKind], limit: int = 1, max_bytes: int | None = None,
          groups: Iterable[str] | None = None) -> list[Claimed]:
    """Take up to `limit` jobs of these kinds (and of these groups, when given), best first,
    stopping at `max_bytes` of payload `size` (at least one job). On a shared PostgreSQL, only
    the jobs this dock can do (`_at_home`); SQLite's one dock does them all."""
    now = app.clock.now()
    kinds = [k.value for k in kinds]
    # Idle workers ask often: look first without the write lock every writer takes.
    with app.db.reading() as s:
        candidate = s.execute(select(Job.id).where(Job.kind.in_(kinds), or_(
            Job.status == JobStatus.RUNNING, and_(Job.status == JobStatus.QUEUED, _due(now)))).limit(1)).first()
    if candidate is None:
        return []
    with app.changes.begin(worker) as ch:
        _expire_dead_holders(ch, now)
        _fail_exhausted(ch, now)
        query = (select(Job).where(Job.kind.in_(kinds), _claimable(now))
                 .order_by(Job.priority, Job.created_at, Job.id).limit(limit)
                 .with_for_update(skip_locked=True))
        if groups is not None:
            query = query.where(Job.group_key.in_(list(groups)))
        if not app.db.is_sqlite:
            query = query.where(_at_home(app.settings.dock_name))
        picked, total = [], 0
        for job in ch.session.execute(query).scalars():
            size = int((job.payload or {}).get("size") or 0)
            if picked and max_bytes is not None and total + size > max_bytes:
                break
            picked.append(job)
            total += size
        if not picked:
            return []
        lease = {k: timedelta(seconds=RULES[JobKind(k)].lease_s) for k in {j.kind for j in picked}}
        out = []
        for job in picked:
            reclaimed = job.status == JobStatus.RUNNING
            job.status, job.worker, job.attempts = JobStatus.RUNNING.value, worker, job.attempts + 1
            job.lease_until, job.updated_at, job.rerun = now + lease[job.kind], now, False
            out.append(Claimed(job.id, JobKind(job.kind), job.subject, dict(job.payload or {}), job.attempts,
                               job.group_key))
            if reclaimed:
                ch.record("job.reclaimed", "job", str(job.id), kind=job.kind, subject=job.subject)
        ch.record("jobs.claimed", "jobs", str(out[0].id), ids=[c.id for c in out],
                  kinds=sorted({c.kind.value for c in out}), worker=worker)
    return out


def _expire_dead_holders(ch: Change, now: datetime) -> None:
    running = ch.session.execute(select(Job.id, Job.worker).where(Job.status == JobStatus.RUNNING,
                                                                 Job.lease_until >= now)).all()
    dead = [job_id for job_id, holder in running if holder_is_dead(holder)]
    if dead:
        # Taken again at once, but behind the jobs of its kind that never died with a process:
        # one that kills its process is not the first thing every restart runs into.
        ch.session.execute(update(Job).where(Job.id.in_(dead)).values(lease_until=now - timedelta(microseconds=1),
                                                                     priority=Job.priority + 1))
        ch.record("jobs.holder_gone", "jobs", str(dead[0]), ids=dead)


def _fail_exhausted(ch: Change, now: datetime) -> None:
    """A job whose process keeps dying under it (it may be what kills them) stops here."""
    ids = list(ch.session.execute(select(Job.id).where(
        Job.status == JobStatus.RUNNING, Job.lease_until < now,
        Job.attempts >= Job.max_attempts + LOST_EXTRA)).scalars())
    if ids:
        ch.session.execute(update(Job).where(Job.id.in_(ids)).values(
            status=JobStatus.FAILED, finished_at=now, updated_at=now, lease_until=None,
            error="the process working on it stopped before it finished, on every attempt"))
        ch.record("jobs.failed", "jobs", str(ids[0]), ids=ids, reason="holder lost on every attempt")


@dataclass(frozen=True)
class Done:
    job_id: int
    output: dict | None = None
    partial: bool = False


def finish(app, worker: str, done: list[Done]) -> list[int]:
    """Mark jobs done (or queued once more if asked for again while they ran). Returns the
    ids this worker no longer held: its lease ran out and another took the job over."""
    if not done:
        return []
    now = app.clock.now()
    lost = []
    with app.changes.begin(worker) as ch:
        jobs = {j.id: j for j in ch.session.execute(select(Job).where(Job.id.in_([d.job_id for d in done])))
                .scalars()}
        for d in done:
            job = jobs.get(d.job_id)
            if job is None or job.status != JobStatus.RUNNING or job.worker != worker:
                lost.append(d.job_id)
                continue
            job.output, job.partial, job.error, job.lease_until, job.updated_at = d.output, d.partial, None, None, now
            if job.rerun:
                job.status, job.rerun, job.attempts = JobStatus.QUEUED.value, False, 0
            else:
                job.status, job.finished_at = JobStatus.DONE.value, now
        ch.record("jobs.done", "jobs", str(done[0].job_id), ids=[d.job_id for d in done if d.job_id not in lost],
                  lost=lost, worker=worker)
    return lost


def give_back(app, held: dict[int, str]) -> list[int]:
    """Jobs whose outcome their holder could not record (the database was gone for longer
    than it waits), queued again at once by that holder once the database is back, instead
    of left `running` until their lease runs out. The attempt is not counted: the job did
    not fail, the database went away. Returns the ids given back (a job another worker has
    taken since, or that was recorded after all, is left as it is)."""
    if not held:
        return []
    now = app.clock.now()
    with app.changes.begin("ingestd") as ch:
        jobs = ch.session.execute(select(Job).where(Job.id.in_(list(held)))).scalars().all()
        back = [j for j in jobs if j.status == JobStatus.RUNNING and j.worker == held[j.id]]
        for job in back:
            job.status, job.lease_until, job.not_before, job.updated_at = JobStatus.QUEUED.value, None, now, now
            job.attempts = max(job.attempts - 1, 0)
        if back:
            ch.record("jobs.given_back", "jobs", str(back[0].id), ids=[j.id for j in back],
                      reason="the database was away when the outcome was to be recorded")
    return [j.id for j in back]


def fail(app, worker: str, job_id: int, error: str, final: bool = False) -> JobStatus:
    """Record a failed attempt: queued again after a backoff, or failed for good (`final`:
    at once, as a failure no retry would change)."""
    now = app.clock.now()
    with app.changes.begin(worker) as ch:
        job = ch.session.get(Job, job_id)
        if job is None or job.status != JobStatus.RUNNING or job.worker != worker:
            ch.record("job.failure_ignored", "job", str(job_id), worker=worker, error=error[-500:])
            return JobStatus(job.status) if job is not None else JobStatus.FAILED
        job.error, job.updated_at, job.lease_until = error[-ERROR_KEEP:], now, None
        if final or job.attempts >= job.max_attempts:
            job.status, job.finished_at = JobStatus.FAILED.value, now
        else:
            job.status = JobStatus.QUEUED.value
            job.not_before = now + timedelta(seconds=BACKOFF_S[min(job.attempts, len(BACKOFF_S)) - 1])
        ch.record("job.failed", "job", str(job_id), kind=job.kind, subject=job.subject, attempt=job.attempts,
                  final=job.status == JobStatus.FAILED, error=error[-500:])
        return JobStatus(job.status)


def renew(app, worker: str, job_ids: list[int]) -> None:
    """Extend the leases of jobs this worker is still working on."""
    if not job_ids:
        return
    now = app.clock.now()
    with app.changes.begin(worker) as ch:
        jobs = ch.session.execute(select(Job).where(Job.id.in_(job_ids), Job.worker == worker,
                                                    Job.status == JobStatus.RUNNING)).scalars().all()
        for job in jobs:
            job.lease_until = now + timedelta(seconds=RULES[JobKind(job.kind)].lease_s)
        if jobs:
            ch.record("jobs.lease_renewed", "jobs", str(jobs[0].id), ids=[j.id for j in jobs], worker=worker)


def retry(app, job_id: int, actor: str, kinds: Iterable[JobKind] | None = None) -> Job:
    with app.changes.begin(actor) as ch:
        job = ch.session.get(Job, job_id)
        if job is None or (kinds is not None and job.kind not in {k.value for k in kinds}):
            raise UserError(f"no job with id {job_id}")
        if job.status not in (JobStatus.FAILED, JobStatus.DONE):
            raise UserError(f"job {job_id} is {job.status}; only failed or done jobs are queued again")
        job.status, job.attempts, job.error, job.not_before = JobStatus.QUEUED.value, 0, None, None
        job.updated_at, job.finished_at = app.clock.now(), None
        ch.record("job.retry", "job", str(job_id), kind=job.kind, subject=job.subject)
        return job


def waiting(app, groups: Iterable[str], kinds: Iterable[JobKind]) -> int:
    """Jobs of these groups still to come: held, running, or queued and not waiting out a
    retry backoff."""
    now = app.clock.now()
    query = (select(func.count()).select_from(Job)
             .where(Job.group_key.in_(list(groups)), Job.kind.in_([k.value for k in kinds]),
                    or_(Job.status.in_([JobStatus.HELD.value, JobStatus.RUNNING.value]),
                        and_(Job.status == JobStatus.QUEUED, Job.attempts < Job.max_attempts, _due(now)))))
    with app.db.reading() as s:
        return s.execute(query).scalar_one()


@dataclass
class KindStatus:
    held: int = 0
    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    retrying: int = 0  # of the queued: failed once or more, waiting out their backoff
    oldest_pending_s: float | None = None


@dataclass
class QueueStatus:
    kinds: dict[str, KindStatus] = field(default_factory=dict)
    running: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)

    def total(self, status: str) -> int:
        return sum(getattr(k, status) for k in self.kinds.values())

    def as_dict(self) -> dict:
        return {"kinds": {k: vars(v) for k, v in self.kinds.items()},
                "held": self.total("held"), "queued": self.total("queued"), "retrying": self.total("retrying"),
                "running": self.running,
                "done": self.total("done"), "failed": self.failed,
                "oldest_pending_s": max((v.oldest_pending_s for v in self.kinds.values()
                                         if v.oldest_pending_s is not None), default=None)}


FAILED_SHOWN = 200


def status(app, kinds: Iterable[JobKind] | None = None) -> QueueStatus:
    now = app.clock.now()
    kind_values = [k.value for k in (kinds or JobKind)]
    result = QueueStatus({k: KindStatus() for k in kind_values})
    with app.db.reading() as s:
        for kind, state, n, oldest in s.execute(
                select(Job.kind, Job.status, func.count(), func.min(Job.created_at))
                .where(Job.kind.in_(kind_values)).group_by(Job.kind, Job.status)):
            entry = result.kinds[kind]
            setattr(entry, state, n)
            if state in PENDING and oldest is not None:
                age = (now - oldest).total_seconds()
                entry.oldest_pending_s = max(entry.oldest_pending_s or 0.0, round(age, 1))
        for kind, n in s.execute(select(Job.kind, func.count()).where(
                Job.kind.in_(kind_values), Job.status == JobStatus.QUEUED, Job.not_before > now).group_by(Job.kind)):
            result.kinds[kind].retrying = n
        result.running = [{"id": j.id, "kind": j.kind, "subject": j.subject, "worker": j.worker,
                           "attempt": j.attempts, "lease_until": j.lease_until}
                          for j in s.execute(select(Job).where(Job.kind.in_(kind_values),
                                                               Job.status == JobStatus.RUNNING)).scalars()]
        result.failed = [{"id": j.id, "kind": j.kind, "subject": j.subject, "attempts": j.attempts,
                          "error": j.error}
                         for j in s.execute(select(Job).where(Job.kind.in_(kind_values),
                                                              Job.status == JobStatus.FAILED)
                                            .order_by(Job.updated_at.desc()).limit(FAILED_SHOWN)).scalars()]
    return result

