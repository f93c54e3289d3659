"""One dock session, start to finish: walk → classify → offload (+probe) → commit.

Stages are plain functions over typed records; only commit.py writes. Offload runs in
worker processes (SM3 is CPU-bound and holds the GIL), one file each, while this process
commits results as they arrive. A file that fails never stops the others.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import uuid
from datetime import datetime, timedelta
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from sqlalchemy import func, select

from ingestd.app import App
from ingestd.compliance.recompute import build_judge, recompute, recompute_recent
from ingestd.db.models import Recording
from ingestd.db.types import UTCDateTime
from ingestd.device_profiles import DeviceProfile
from ingestd.findings import Finding
from ingestd.ingest import commit
from ingestd.ingest.names import display, extension
from ingestd.ingest.offload import OffloadRequest, OffloadResult, offload
from ingestd.ingest.outcome import DockRun, FileOutcome
from ingestd.ingest.walk import SourceEntry, kind_of_mode, walk
from ingestd.logs import event
from ingestd.timeline.process import process_docks
from ingestd.evidence.metadata import fill_sessions

log = logging.getLogger("ingestd.ingest")


@dataclass(frozen=True)
class _Skip:
    status: str
    code: str
    reason: str


def classify(entry: SourceEntry, profile: DeviceProfile) -> _Skip | None:
    """None if the file is to be offloaded, else why not."""
    if entry.kind == "symlink":
        return _Skip("skipped", "skipped_symlink", Finding("skipped_symlink", {"path": entry.rel_path}).message)
    if entry.kind == "unreadable_dir":
        return _Skip("failed", "read_failed", f"{entry.rel_path}: directory could not be listed")
    if entry.kind != "file":
        return _Skip("skipped", "skipped_special",
                     Finding("skipped_special", {"path": entry.rel_path, "kind": entry.kind}).message)
    ext = extension(entry.path)
    if profile.files.kind_of(ext) is None:
        return _Skip("skipped", "skipped_not_media", f"extension {ext or '(none)'!r} is not a recording type")
    return None


def source_entries(root: Path) -> Iterator[SourceEntry]:
    """The files under a dock root; a single file given directly is its own root."""
    if root.is_dir():
        yield from walk(root)
        return
    st = root.lstat()
    kind = kind_of_mode(st.st_mode)
    yield SourceEntry(os.fspath(root), display(root.name), kind, st.st_size if kind == "file" else None,
                      st.st_mtime_ns)


class Offloader:
    """Runs offloads inline (one worker) or in a process pool; yields results as they finish."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "Offloader":
        if self.workers > 1:
            # forkserver: workers must not inherit this process's database connections; the
            # server preloads only the offload module, so each worker stays small as long as
            # the main module is a package's __main__ (`python -m ingestd`), which workers skip.
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["ingestd.ingest.offload"])
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def run(self, jobs: Iterable[tuple[SourceEntry, OffloadRequest]]) -> Iterator[tuple[SourceEntry, OffloadResult]]:
        if self._pool is None:
            for entry, req in jobs:
                yield entry, offload(req)
            return
        futures: dict[Future, SourceEntry] = {self._pool.submit(offload, req): entry for entry, req in jobs}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()


def ingest_path(app: App, source: Path, profile: DeviceProfile, device_serial: str | None,
                offloader: Offloader, only: set[str] | None = None, info: commit.DockInfo = commit.DockInfo(),
                stop: threading.Event | None = None) -> DockRun:
    # The path the admin named is resolved; nothing below it is ever followed.
    root = os.fspath(source.resolve())
    # The marker goes first, so a crash at any point after leaves a session that the next
    # process can mark interrupted rather than "running" for ever.
    session_id = uuid.uuid4().hex
    dock_marker = app.staging.mark("dock", session_id)
    ctx = commit.start_session(app, session_id, display(root), profile, device_serial, info)
    run = DockRun(ctx.session_id, display(root), profile.name, device_serial, app.clock.now())
    event(log, logging.INFO, "dock.started", session=ctx.session_id, source=run.source, profile=profile.name,
          device=device_serial)
    known = commit.known_sources(app, ctx)
    jobs: list[tuple[SourceEntry, OffloadRequest]] = []
    resumed = total = 0
    for entry in source_entries(Path(root)):
        if only is not None and entry.path not in only:
            continue
        total += 1
        skip = classify(entry, profile)
        if skip is not None:
            run.outcomes.append(commit.record_without_content(app, ctx, entry, skip.status, skip.code, skip.reason))
            continue
        previous = known.get((entry.rel_path, entry.size, entry.mtime_ns))
        if previous is not None:
            resumed += 1
            run.outcomes.append(FileOutcome(
                entry.display_path, entry.rel_path, "duplicate", previous, previous, entry.size, "already_ingested",
                Finding("already_ingested", {"path": entry.rel_path, "recording_id": previous}).message))
            continue
        suffix = f".{extension(entry.path)}" if extension(entry.path) else ""
        media = profile.files.kind_of(extension(entry.path)) != "sidecar"
        jobs.append((entry, OffloadRequest(entry.path, os.fspath(app.staging.new_path(suffix)),
                                           app.settings.ingest.chunk_kib * 1024, app.settings.ingest.probe_timeout_s,
                                           media)))
    commit.record_scan(app, ctx, total, resumed)
    # Largest first: a long clip started last would leave the other cores idle at the end.
    jobs.sort(key=lambda job: job[0].size or 0, reverse=True)
    results = offloader.run(jobs)
    for entry, result in results:
        outcome = commit.commit_offload(app, ctx, entry, result)
        run.outcomes.append(outcome)
        if outcome.status in ("ingested", "damaged"):
            run.bytes_ingested += outcome.size or 0
        if stop is not None and stop.is_set():
            # Shutting down: the file just committed is whole; the rest stay on the camera
            # for the next dock, and copies in flight are dropped with this process's staging.
            results.close()
            break
    run.outcomes.sort(key=lambda o: o.rel_path)
    interrupted = len(run.outcomes) < total
    run.finished_at = commit.finish_session(app, ctx, run.counts(), run.bytes_ingested, interrupted)
    app.staging.done(dock_marker)
    event(log, logging.INFO, "dock.finished", session=ctx.session_id, **run.counts(), bytes=run.bytes_ingested)
    return run


def ingest(app: App, sources: list[Path], profile_name: str | None, device_serial: str | None,
           camera_clock: datetime | None = None, only: set[str] | None = None,
           info: commit.DockInfo = commit.DockInfo(), stop: threading.Event | None = None,
           offloader: Offloader | None = None) -> list[DockRun]:
    """`ingestd ingest`, and the daemon for a docked camera or settled inbox files (`only`).
    The daemon passes its one `offloader`, so that cameras docked together share the cores
    rather than each starting a pool of its own."""
    profile = app.profile(profile_name)
    app.policy  # a broken policy or calendar fails before anything is copied
    with contextlib.ExitStack() as stack:
        if offloader is None:
            offloader = stack.enter_context(Offloader(app.settings.offload_workers))
        runs = [ingest_path(app, src, profile, device_serial, offloader, only, info, stop) for src in sources]
    session_ids = [r.session_id for r in runs]
    process_docks(app, session_ids, camera_clock)
    update_compliance(app, session_ids)
    fill_sessions(app, session_ids)  # 制作方法/制作时间/制作人 need the timeline and the owners
    return runs


def update_compliance(app: App, session_ids: list[str]) -> None:
    """Deadlines and statuses for what just arrived, and the shifts a dock can settle."""
    when = func.coalesce(Recording.end_corrected, Recording.end, Recording.start_corrected, Recording.start)
    with app.db.reading() as s:
        first, last = s.execute(select(func.min(when, type_=UTCDateTime), func.max(when, type_=UTCDateTime))
                                .where(Recording.dock_session_id.in_(session_ids))).one()
    judge = build_judge(app)  # the roster and owners, read once for both steps
    if first is not None:
        lo, hi = (v.astimezone(app.settings.tz).date() for v in (first, last))
        recompute(app, (lo - timedelta(days=1), hi + timedelta(days=1)), judge)
    recompute_recent(app, judge)
