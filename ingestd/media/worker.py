"""Media workers: claim a job, make the derivative, record the outcome; never hold up the
dock (they run at idle priority, in their own threads, with their own time limits)."""

from __future__ import annotations

import logging
import threading

from ingestd.app import App
from ingestd.db.models import Recording
from ingestd.errors import IngestdError
from ingestd.logs import event
from ingestd.media import derivatives, queue

log = logging.getLogger("ingestd.media")


def work_one(app: App, worker: str) -> bool:
    """Claim and do one job. Returns False when the queue had nothing to claim."""
    job = queue.claim(app, worker, app.settings.media.lease_s)
    if job is None:
        return False
    with app.db.reading() as s:
        rec = s.get(Recording, job.recording_id)
    try:
        output, partial = derivatives.make(app, rec, job.kind)
    except IngestdError as exc:
        queue.fail(app, job.id, worker, str(exc))
        event(log, logging.WARNING, "media.failed", job=job.id, kind=job.kind, recording=rec.id, error=str(exc))
        return True
    queue.finish(app, job.id, worker, output, partial)
    event(log, logging.INFO, "media.done", job=job.id, kind=job.kind, recording=rec.id, partial=partial)
    return True


def work_until_empty(app: App, worker: str | None = None) -> int:
    worker = worker or queue.worker_name()
    done = 0
    while work_one(app, worker):
        done += 1
    return done


def run_workers(app: App, stop: threading.Event, count: int, idle_s: float = 2.0) -> list[threading.Thread]:
    def loop(n: int) -> None:
        name = f"{queue.worker_name()}/{n}"
        while not stop.is_set():
            try:
                busy = work_one(app, name)
            except Exception as exc:  # noqa: BLE001 - logged in full; the lease hands the job on
                event(log, logging.ERROR, "media.worker_error", exc=exc, worker=name)
                busy = False
            if not busy:
                stop.wait(idle_s)

    threads = [threading.Thread(target=loop, args=(n,), name=f"media-{n}", daemon=True) for n in range(count)]
    for t in threads:
        t.start()
    return threads
