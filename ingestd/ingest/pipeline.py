"""One dock session, start to release: walk → classify → offload + store → record → release.

Stages are plain functions over typed records; only commit.py writes. Offloads run in a
pool of threads shared by every dock of the process; each file's copy is proven and laid
out as an object in staging in its own thread, while the dock's thread commits whatever
finished meanwhile to the store and the database as one batch. A file that fails never
stops the others. When every file
is recorded the session is released: the camera may go. What follows (SM3, probes,
timeline, compliance, 制作人, derivatives) is durable jobs, asked for by `follow`.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ingestd import failpoints
from ingestd.device_profiles import DeviceProfile
from ingestd.db.engine import again_when_transient
from ingestd.errors import NoSpaceError
from ingestd.findings import Finding
from ingestd.ingest import commit, progress
from ingestd.ingest.followups import FollowUps
from ingestd.ingest.names import display, extension, valid_serial
from ingestd.text import printable
from ingestd.ingest.offload import OffloadRequest, offload
from ingestd.ingest.outcome import DockRun
from ingestd.ingest.walk import SourceEntry, kind_of_mode, walk
from ingestd.logs import event

if TYPE_CHECKING:
    from ingestd.app import App

log = logging.getLogger("ingestd.ingest")
BATCH_MAX = 64  # files recorded in one transaction at most


def classify(entry: SourceEntry, profile: DeviceProfile) -> commit.Pending | None:
    """None if the file is to be offloaded, else what becomes of it."""
    if entry.kind == "symlink":
        return commit.no_content(entry, "skipped", "skipped_symlink",
                                 Finding("skipped_symlink", {"path": entry.rel_path}).message)
    if entry.kind == "unreadable_dir":
        return commit.no_content(entry, "failed", "read_failed", f"{entry.rel_path}: directory could not be listed")
    if entry.kind != "file":
        return commit.no_content(entry, "skipped", "skipped_special",
                                 Finding("skipped_special", {"path": entry.rel_path, "kind": entry.kind}).message)
    ext = extension(entry.path)
    if profile.files.kind_of(ext) is None:
        return commit.no_content(entry, "skipped", "skipped_not_media",
                                 f"extension {ext or '(none)'!r} is not a recording type")
    return None


def source_entries(root: Path) -> Iterator[SourceEntry]:
    """The files under a dock root; a single file given directly is its own root."""
    if root.is_dir():
        yield from walk(root)
        return
    st = root.lstat()
    kind = kind_of_mode(st.st_mode)
    yield SourceEntry(os.fspath(root), display(root.name), kind, st.st_size if kind == "file" else None,
                      st.st_mtime_ns, os.fsencode(root.name))


def identify_device(root: Path, entries: list[SourceEntry], profile: DeviceProfile,
                    tz) -> tuple[str | None, str | None]:
    """A dock with no serial given: the serial its file names carry (when they all agree),
    else the name of the dock root's folder, as an inbox names its cameras."""
    named = {facts.device for e in entries if e.kind == "file"
             if (facts := profile.parse_name(e.rel_path, tz)) is not None and facts.device}
    if len(named) == 1 and valid_serial(serial := next(iter(named))) is None:
        return serial, "file_names"
    folder = root if root.is_dir() else root.parent
    name = printable(display(folder.name))
    return (name, "folder_name") if valid_serial(name) is None else (None, None)


class Offloader:
    """The offload threads: one pool for every camera docked at once, so eight cameras
    share the cores rather than each starting a pool of its own."""

    def __init__(self, workers: int):
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="offload")

    def submit(self, fn, *args) -> Future:
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "Offloader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _again(app: "App", what: str, fn):
    """One transaction of the dock, run again while the database is away for a moment."""
    def note(step: str, error: str, delay: float) -> None:
        event(log, logging.WARNING, "dock.database_away", step=step, error=error, retry_in_s=delay)

    return again_when_transient(fn, app.settings.database_wait_s, what, note)


def _take(app: "App", ctx: commit.DockContext, entry: SourceEntry, req: OffloadRequest,
          stop: threading.Event | None) -> commit.Pending | None:
    if stop is not None and stop.is_set():
        return None  # shutting down: not begun, so not recorded; it stays on the camera for the next dock
    return commit.prepare(app, ctx, entry, offload(req))


def ingest_path(app: "App", source: Path, profile: DeviceProfile, device_serial: str | None,
                offloader: Offloader, follow: FollowUps, only: set[str] | None = None,
                info: commit.DockInfo = commit.DockInfo(), stop: threading.Event | None = None,
                camera_clock: datetime | None = None, device_source: str | None = None) -> DockRun:
    # The path the admin named is resolved; nothing below it is ever followed.
    root = source.resolve()
    shown = display(os.fspath(root))
    entries = [e for e in source_entries(root) if only is None or e.path in only]
    if device_serial is None:
        device_serial, device_source = identify_device(root, entries, profile, app.settings.tz)
    elif device_source is None:
        device_source = "given"
    # The marker goes first, so a crash at any point after leaves a session that the next
    # process marks interrupted (and lets its jobs run) rather than "running" for ever.
    session_id = uuid.uuid4().hex
    dock_marker = app.open_staging().mark("dock", session_id)
    ctx = _again(app, "start_session", lambda: commit.start_session(
        app, session_id, shown, profile, device_serial, follow, info, camera_clock, device_source))
    run = DockRun(ctx.session_id, shown, profile.name, device_serial, app.clock.now(), device_source=device_source)
    event(log, logging.INFO, "dock.started", session=ctx.session_id, source=run.source, profile=profile.name,
          device=device_serial, device_source=device_source)
    interrupted, disk_full = True, None
    progress.begin(ctx.session_id)
    try:
        _offload_all(app, ctx, entries, offloader, follow, stop, run)
        interrupted = len(run.outcomes) < len(entries)
    except NoSpaceError as exc:
        disk_full = exc.where or "disk"
        raise
    finally:
        run.outcomes.sort(key=lambda o: o.rel_path)
        try:
            run.finished_at = _again(app, "release_session", lambda: commit.release_session(
                app, ctx, run.counts(), run.bytes_ingested, interrupted, disk_full))
        except NoSpaceError:
            # The database's disk is full: the session cannot even be marked. Its marker stays,
            # and it is marked interrupted (with a disk_full incident) as soon as space allows,
            # by this process or, should it end first, by the next one to open staging.
            app.unreleased[ctx.session_id] = dock_marker
            try:
                app.open_staging().mark("nospace", ctx.session_id)
            except OSError:
                pass  # the staging disk is full too: the incident is then opened without its cause
            raise
        run.released = not interrupted
        app.open_staging().done(dock_marker)
        progress.end(ctx.session_id)
    event(log, logging.INFO, "dock.released" if run.released else "dock.interrupted", session=ctx.session_id,
          **run.counts(), bytes=run.bytes_ingested, after_s=run.released_after_s)
    return run


def _offload_all(app: "App", ctx: commit.DockContext, entries: list[SourceEntry], offloader: Offloader,
                 follow: FollowUps, stop: threading.Event | None, run: DockRun) -> None:
    _again(app, "record_scan", lambda: commit.record_scan(app, ctx, len(entries),
                                                          sum(e.size or 0 for e in entries)))
    known = _again(app, "known_sources", lambda: commit.known_sources(app, ctx))
    ready: list[commit.Pending] = []
    todo: list[tuple[SourceEntry, OffloadRequest]] = []
    for entry in entries:
        skip = classify(entry, ctx.profile)
        if skip is not None:
            progress.known(ctx.session_id, entry.size or 0)
            ready.append(skip)
            continue
        previous = known.get((entry.rel_raw, entry.size, entry.mtime_ns))
        if previous is not None:
            progress.known(ctx.session_id, entry.size or 0)
            ready.append(commit.no_content(entry, "duplicate", "already_ingested", Finding(
                "already_ingested", {"path": entry.rel_path, "recording_id": previous}).message,
                recording_id=previous, sha256=previous))
            continue
        ext = extension(entry.path)
        todo.append((entry, OffloadRequest(entry.path, os.fspath(app.open_staging().new_path(f".{ext}" if ext else "")),
                                           app.settings.ingest.chunk_kib * 1024,
                                           ctx.profile.files.kind_of(ext) != "sidecar", entry.size, entry.mtime_ns,
                                           partial(progress.read, ctx.session_id))))
    # Largest first: a long clip started last would leave the other threads idle at the end.
    todo.sort(key=lambda job: job[0].size or 0, reverse=True)
    futures = {offloader.submit(_take, app, ctx, entry, req, stop) for entry, req in todo}
    batch: list[commit.Pending] = []
    try:
        while ready or futures:
            if futures and len(ready) < BATCH_MAX:
                finished, futures = wait(futures, timeout=0 if ready else None, return_when=FIRST_COMPLETED)
                ready += [p for f in finished if (p := f.result()) is not None]
            if stop is not None and stop.is_set() and futures:
                # Shutting down: copies not started stay on the camera for the next dock; the
                # ones in flight finish and are recorded, so nothing is left half done.
                for f in futures:
                    f.cancel()
                finished, futures = wait(futures), set()
                ready += [p for f in finished.done if not f.cancelled() and (p := f.result()) is not None]
            batch, ready = ready[:BATCH_MAX], ready[BATCH_MAX:]
            if not batch:
                continue
            batch = commit.store_batch(app, batch)
            failpoints.hit("dock.stored")
            for outcome in _again(app, "write_batch", lambda: commit.write_batch(app, ctx, batch, follow)):
                run.outcomes.append(outcome)
                if outcome.status in ("ingested", "damaged"):
                    run.bytes_ingested += outcome.size or 0
            failpoints.hit("dock.recorded")
    finally:
        # On an error: let the copies in flight end, and drop what they and the unrecorded
        # files laid out in staging; what is in the store is whole, and is adopted by the next
        # dock of the same bytes.
        for f in futures:
            f.cancel()
        for f in wait(futures).done:
            if f.cancelled():
                continue
            if f.exception() is not None:
                event(log, logging.ERROR, "dock.copy_failed", exc=f.exception(), session=ctx.session_id)
            elif f.result() is not None:
                ready.append(f.result())
        for item in ready + batch:  # a committed object's work folder is gone already
            if item.assembled is not None and item.assembled.work is not None:
                shutil.rmtree(item.assembled.work, ignore_errors=True)
