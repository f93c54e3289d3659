"""Worker threads that work the job queue: claim, run the kind's handler, finish or fail.

Workers are threads of the process that starts them (the daemon, `ingestd ingest`,
`ingestd jobs work`), never processes of their own: nothing outlives its parent, and
Ctrl-C reaches only the process that owns the terminal. SM3, SHA-256 and the PyAV
demuxer release the GIL, so threads use every core. Each worker thread runs at idle CPU
and I/O priority, so a dock in flight always wins. A handler that raises is recorded on
its job (and logged in full when it is not one of ours); the worker carries on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from ingestd import failpoints
from sqlalchemy.exc import DBAPIError

from ingestd.db.engine import again_when_transient
from ingestd.errors import IngestdError, NeedsPersonError
from ingestd.jobs import queue
from ingestd.jobs.kinds import RULES, JobKind
from ingestd.logs import event
from ingestd.priority import idle_this_thread

log = logging.getLogger("ingestd.jobs")

Handler = Callable[[object, queue.Claimed], queue.Done]


@dataclass(frozen=True)
class Batching:
    """How many jobs of a kind one claim takes (small SM3 jobs are cheaper claimed together)."""

    limit: int = 1
    max_bytes: int | None = None


@dataclass
class Runner:
    app: object
    handlers: Mapping[JobKind, Handler]
    kinds: tuple[JobKind, ...]
    threads: int
    name: str = "jobs"
    batching: Mapping[JobKind, Batching] = field(default_factory=dict)
    idle_s: float = 1.0
    done: int = 0
    _held: dict[int, str] = field(default_factory=dict)
    # Claimed jobs whose outcome could not be recorded (job id -> worker): given back first
    # thing once the database answers again.
    _unsettled: dict[int, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def work_one(self, worker: str, groups: Iterable[str] | None = None) -> bool:
        """Claim and do one batch of jobs. False when nothing could be claimed."""
        self._give_back()
        for kind in self._by_priority():
            batch = self.batching.get(kind, Batching())
            claimed = self._again("claim", lambda: queue.claim(self.app, worker, [kind], batch.limit,
                                                                batch.max_bytes, groups))
            if claimed:
                self._run(worker, claimed)
                return True
        return False

    def _by_priority(self) -> list[JobKind]:
        # Kinds are claimed one kind at a time so a batch is of one kind; the best kind first.
        return sorted(self.kinds, key=lambda k: (RULES[k].priority, RULES[k].stage))

    def _run(self, worker: str, claimed: list[queue.Claimed]) -> None:
        with self._lock:
            self._held.update({c.id: worker for c in claimed})
        results = []
        try:
            for job in claimed:
                failpoints.hit(f"job.claimed:{job.kind.value}")
                try:
                    # Jobs are idempotent: one the database dropped half way is simply run again.
                    results.append(self._again(job.kind.value, lambda: self.handlers[job.kind](self.app, job)))
                    failpoints.hit(f"job.handled:{job.kind.value}")
                except IngestdError as exc:
                    error, final = str(exc), isinstance(exc, NeedsPersonError)
                    self._again("fail", lambda: queue.fail(self.app, worker, job.id, error, final))
                    event(log, logging.WARNING, "job.failed", job=job.id, kind=job.kind, subject=job.subject,
                          attempt=job.attempt, error=error)
                except Exception as exc:  # noqa: BLE001 - recorded on the job and logged in full
                    error = f"{type(exc).__name__}: {exc}"
                    self._again("fail", lambda: queue.fail(self.app, worker, job.id, error))
                    event(log, logging.ERROR, "job.crashed", exc=exc, job=job.id, kind=job.kind,
                          subject=job.subject, attempt=job.attempt)
            lost = self._again("finish", lambda: queue.finish(self.app, worker, results))
            for job_id in lost:
                event(log, logging.WARNING, "job.lease_lost", job=job_id, worker=worker)
            with self._lock:  # several worker threads count into it
                self.done += len(results) - len(lost)
        except DBAPIError:
            with self._lock:
                self._unsettled.update({c.id: worker for c in claimed})
            raise
        finally:
            with self._lock:
                for c in claimed:
                    self._held.pop(c.id, None)

    def _give_back(self) -> None:
        with self._lock:
            unsettled = dict(self._unsettled)
        if not unsettled:
            return
        back = self._again("give_back", lambda: queue.give_back(self.app, unsettled))
        with self._lock:
            for job_id in unsettled:
                self._unsettled.pop(job_id, None)
        if back:
            event(log, logging.WARNING, "jobs.given_back", ids=back)

    def _again(self, what: str, fn):
        def note(step: str, error: str, delay: float) -> None:
            event(log, logging.WARNING, "jobs.database_away", step=step, error=error, retry_in_s=delay)

        return again_when_transient(fn, self.app.settings.database_wait_s, what, note)

    def renew_leases(self) -> None:
        with self._lock:
            by_worker: dict[str, list[int]] = {}
            for job_id, worker in self._held.items():
                by_worker.setdefault(worker, []).append(job_id)
        for worker, ids in by_worker.items():
            queue.renew(self.app, worker, ids)

    # ----- threads --------------------------------------------------------------------------

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        """Worker threads that run until `stop` is set, plus one that renews their leases."""
        threads = [threading.Thread(target=self._loop, args=(n, stop), name=f"{self.name}-{n}", daemon=True)
                   for n in range(self.threads)]
        threads.append(threading.Thread(target=self._renewer, args=(stop,), name=f"{self.name}-lease",
                                        daemon=True))
        for t in threads:
            t.start()
        return threads

    def _loop(self, n: int, stop: threading.Event) -> None:
        idle_this_thread()
        worker = queue.worker_id(f"{self.name}-{n}")
        while not stop.is_set():
            try:
                busy = self.work_one(worker)
            except Exception as exc:  # noqa: BLE001 - logged in full; the lease hands the job on
                event(log, logging.ERROR, "jobs.worker_error", exc=exc, worker=worker)
                busy = False
            if not busy:
                stop.wait(self.idle_s)

    def _renewer(self, stop: threading.Event) -> None:
        every = min(RULES[k].lease_s for k in self.kinds) / 3
        while not stop.wait(every):
            try:
                self.renew_leases()
            except Exception as exc:  # noqa: BLE001 - logged in full; a lease that lapses is taken again
                event(log, logging.ERROR, "jobs.renew_error", exc=exc)

    def run_until_idle(self, groups: list[str] | None = None, poll_s: float = 0.2) -> int:
        """Work in this many threads until nothing of these kinds can be claimed: first the jobs
        of `groups` (a command's own dock sessions), then anything a crashed process left.
        While a job of `groups` is held by another live process, or waits behind one, wait
        for it rather than return early; a job waiting out a retry backoff is not waited for."""
        stop = threading.Event()
        renewer = threading.Thread(target=self._renewer, args=(stop,), name=f"{self.name}-lease", daemon=True)
        renewer.start()
        errors: list[BaseException] = []

        def loop(n: int) -> None:
            idle_this_thread()
            worker = queue.worker_id(f"{self.name}-{n}")
            try:
                while True:
                    if groups and self.work_one(worker, groups):
                        continue
                    if self.work_one(worker):
                        continue
                    if not groups or not self._again("waiting", lambda: queue.waiting(self.app, groups, self.kinds)):
                        return
                    stop.wait(poll_s)
            except BaseException as exc:  # re-raised in the caller's thread below
                errors.append(exc)

        workers = [threading.Thread(target=loop, args=(n,), name=f"{self.name}-{n}") for n in range(self.threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        stop.set()
        renewer.join()
        if errors:
            raise errors[0]
        return self.done
