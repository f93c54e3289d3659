"""The media job queue, in the database so that any process (or dock) can work it.

Jobs are ordered by priority (important recordings first), then age. A worker claims one
with a lease; a job whose lease ran out (its worker died) is claimed again; a job that
failed `max_attempts` times stays `failed` with its error until someone retries it.
Every transition goes through the audited door.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, func, or_, select, update

from ingestd.app import App
from ingestd.changes import Change
from ingestd.db.models import MediaJob
from ingestd.errors import UserError

KINDS = ("proxy", "hls", "thumbnails")
MAX_ATTEMPTS = 3


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(ch: Change, recording_id: str, kinds: list[str], important: bool, now) -> None:
    for kind in kinds:
        # Proxies first (HLS of an uncopyable codec is cut from the proxy), important first.
        priority = (0 if important else 10) + KINDS.index(kind)
        job = MediaJob(recording_id=recording_id, kind=kind, priority=priority, status="queued",
                       attempts=0, max_attempts=MAX_ATTEMPTS, partial=False, created_at=now, updated_at=now)
        ch.session.add(job)
    if kinds:
        ch.record("media.queued", "recording", recording_id, kinds=kinds, important=important)


def _claimable(now):
    return and_(MediaJob.attempts < MediaJob.max_attempts,
                or_(MediaJob.status == "queued", and_(MediaJob.status == "running", MediaJob.lease_until < now)))


def claim(app: App, worker: str, lease_s: float) -> MediaJob | None:
    now = app.clock.now()
    with app.changes.begin(worker) as ch:
        job = ch.session.execute(select(MediaJob).where(_claimable(now))
                                 .order_by(MediaJob.priority, MediaJob.created_at, MediaJob.id).limit(1)).scalar()
        if job is None:
            return None
        # Conditional on still being claimable: a second worker racing for it gets 0 rows.
        taken = ch.session.execute(
            update(MediaJob).where(MediaJob.id == job.id, _claimable(now))
            .values(status="running", worker=worker, lease_until=now + timedelta(seconds=lease_s),
                    attempts=MediaJob.attempts + 1, updated_at=now)
            .execution_options(synchronize_session=False)).rowcount
        if not taken:
            return None
        ch.record("media.claimed", "media_job", str(job.id), kind=job.kind, recording=job.recording_id,
                  attempt=job.attempts + 1, reclaimed=job.status == "running")
    with app.db.reading() as s:
        return s.get(MediaJob, job.id)


def finish(app: App, job_id: int, worker: str, output: dict, partial: bool) -> None:
    with app.changes.begin(worker) as ch:
        job = ch.session.get(MediaJob, job_id)
        job.status, job.output, job.partial, job.error = "done", output, partial, None
        job.lease_until, job.updated_at = None, app.clock.now()
        ch.record("media.done", "media_job", str(job_id), kind=job.kind, recording=job.recording_id, partial=partial)


def fail(app: App, job_id: int, worker: str, error: str) -> None:
    with app.changes.begin(worker) as ch:
        job = ch.session.get(MediaJob, job_id)
        job.error, job.updated_at, job.lease_until = error[-2000:], app.clock.now(), None
        job.status = "failed" if job.attempts >= job.max_attempts else "queued"
        ch.record("media.failed", "media_job", str(job_id), kind=job.kind, recording=job.recording_id,
                  attempt=job.attempts, final=job.status == "failed", error=error[-500:])


def retry(app: App, job_id: int, actor: str) -> None:
    with app.changes.begin(actor) as ch:
        job = ch.session.get(MediaJob, job_id)
        if job is None:
            raise UserError(f"no media job with id {job_id}")
        if job.status not in ("failed", "done"):
            raise UserError(f"media job {job_id} is {job.status}; only failed or done jobs are requeued")
        job.status, job.attempts, job.error, job.updated_at = "queued", 0, None, app.clock.now()
        ch.record("media.retry", "media_job", str(job_id), kind=job.kind, recording=job.recording_id)


@dataclass(frozen=True)
class QueueStatus:
    by_status: dict[str, int]
    running: list[dict]
    failed: list[dict]

    def as_dict(self) -> dict:
        return {"queued": self.by_status.get("queued", 0), "running": self.running, "failed": self.failed,
                "done": self.by_status.get("done", 0)}


def status(app: App) -> QueueStatus:
    with app.db.reading() as s:
        counts = dict(s.execute(select(MediaJob.status, func.count()).group_by(MediaJob.status)).all())
        running = [{"id": j.id, "kind": j.kind, "recording": j.recording_id, "worker": j.worker,
                    "attempt": j.attempts} for j in s.execute(select(MediaJob).where(MediaJob.status == "running"))
                   .scalars()]
        failed = [{"id": j.id, "kind": j.kind, "recording": j.recording_id, "attempts": j.attempts,
                   "error": j.error} for j in s.execute(select(MediaJob).where(MediaJob.status == "failed"))
                  .scalars()]
    return QueueStatus(counts, running, failed)
