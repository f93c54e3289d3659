"""`ingestd run`: inbox watchers, USB docking, the job workers and the scheduler in one process.

Each settled batch (one camera folder) or docked camera is its own dock session on a
bounded pool, so one slow or broken camera never holds up another; the camera is
released as soon as its files are committed. The job workers drain what follows the
docks (SM3, probes, timeline, compliance, 制作人, derivatives) at idle priority, between
and beside docks. SIGTERM stops taking new work, lets each dock session in flight commit
what it has (never a half object), leaves the rest on the camera for the next dock, lets
each job worker finish its job, and exits; unfinished jobs stay queued for the next start.
SIGHUP reloads device profiles, policies and the calendar. Readiness and watchdog pings
go to systemd.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from ingestd import afterdock
from ingestd.app import App
from ingestd.camera_admission import RECHECK_EVERY
from ingestd.dock_clock import StepWatch
from ingestd.errors import NoSpaceError, UserError
from ingestd.replica.copy import bucket_problem
from ingestd.ingest.commit import DockInfo
from ingestd.ingest.pipeline import Offloader
from ingestd.jobs.kinds import AFTER_DOCK, DERIVATIVES, ON_REQUEST, REPLICATION
from ingestd.leader import Leadership
from ingestd.schedule import build_scheduler
from ingestd.logs import event
from ingestd.sd_notify import notify, watchdog_interval_s
from ingestd.sources.folder import FolderSource

log = logging.getLogger("ingestd.daemon")


class Daemon:
    def __init__(self, app: App):
        self.app = app
        self.stop_event = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=app.settings.daemon.max_docks, thread_name_prefix="dock")
        # One set of offload threads for every camera: eight cameras share the cores.
        self.offloader = Offloader(app.settings.offload_workers)
        self.inflight: set[Future] = set()
        self.lock = threading.Lock()
        inboxes = (app.settings.daemon.inbox or [app.settings.data_dir / "inbox"]) \
            if app.settings.daemon.inbox_enabled else []
        self.sources = [FolderSource(Path(p).resolve(), self.submit, quiet_s=app.settings.daemon.quiet_s,
                                     rescan_s=app.settings.daemon.rescan_s)
                        for p in inboxes]
        self.leadership = Leadership(app.db, app.settings.dock_name)  # the unit-wide sweeps: one dock does them
        self.scheduler = build_scheduler(app, self.leadership)
        self.usb = None
        self.waiting: dict[str, tuple] = {}  # node → (device, recognition) refused for its serial
        if app.settings.usb.enabled:
            from ingestd.sources.usb import UsbSource

            self.usb = UsbSource(lambda: self.app.profiles.values(), self.submit_camera)
            self.mounter = _mounter(app)

    def submit_camera(self, dev, recognition, again: bool = False) -> None:
        """A USB volume appeared (udev's thread): admitted and docked, or refused, on the pool."""
        if self.stop_event.is_set():
            return
        self._track(self.pool.submit(self._admit, dev, recognition, again))

    def _admit(self, dev, recognition, again: bool = False) -> None:
        """Nothing is mounted before this: a volume that is not one of the unit's cameras is
        refused (kept, shown, alerted), and a camera refused for its serial is looked at again
        while it stays plugged in (`again`: a refusal already said is not said again)."""
        from ingestd.camera_admission import record_refusal, refusal_for
        from ingestd.db.states import UsbRefusalReason

        reason = refusal_for(self.app, dev, recognition)
        with self.lock:
            if reason is UsbRefusalReason.NOT_REGISTERED:
                self.waiting[dev.node] = (dev, recognition)
            else:
                self.waiting.pop(dev.node, None)
        if reason is not None:
            if not again:
                record_refusal(self.app, dev, recognition, reason)
            return
        self._dock_usb(dev, recognition)

    def recheck_waiting(self) -> None:
        """Refused cameras still plugged in, as the same device, are admitted again: a camera
        registered meanwhile is docked."""
        with self.lock:
            waiting = list(self.waiting.items())
        for node, (dev, recognition) in waiting:
            now = self.usb.current(node) if self.usb is not None else None
            if now is None or now.serial != dev.serial:
                with self.lock:  # unplugged, or another device on that node: it has its own event
                    self.waiting.pop(node, None)
                continue
            self.submit_camera(dev, recognition, again=True)

    def _dock_usb(self, dev, recognition) -> None:
        """Mount read-only, read what the camera says about itself, offload, release (unmount)."""
        from ingestd.sources.camera import missing_markers, read_camera_clock, storage

        profile = recognition.profile
        event(log, logging.INFO, "camera.recognised", node=dev.node, serial=dev.serial, profile=profile.name,
              by=recognition.by, port=dev.port)
        root = self.mounter.mount(dev.node, dev.serial or Path(dev.node).name)
        try:
            problems = list(recognition.problems) + [f"expected {m!r} is missing" for m in missing_markers(root, profile)]
            total, free = storage(root)
            roots = [root / r for r in profile.media_roots] or [root]
            runs = afterdock.dock(self.app, afterdock.DockRequest(
                roots, profile.name, dev.serial, "usb" if dev.serial else None,
                read_camera_clock(root, profile, self.app.settings.tz), info=DockInfo(dev.port, total, free,
                                                                                      tuple(problems))),
                self.stop_event, self.offloader)
        finally:
            self.mounter.unmount(dev.node, root)
        for run in runs:
            event(log, logging.INFO, "camera.released", serial=dev.serial, **run.counts())

    def submit(self, root: Path, serial: str | None, files: list[str]) -> None:
        if self.stop_event.is_set():
            return  # the files stay where they are; the next start takes them
        self._track(self.pool.submit(self._dock, root, serial, files))

    def _track(self, future: Future) -> None:
        with self.lock:
            self.inflight.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future) -> None:
        with self.lock:
            self.inflight.discard(future)
        # What a dock brings that is alerted at once is alerted by its compliance job, once
        # the officer is known (ingestd.afterdock).
        exc = future.exception()
        if exc is not None:
            # One camera's failure is logged in full and never stops the daemon or other docks.
            event(log, logging.ERROR, "dock.failed", exc=exc, error=repr(exc))

    def _dock(self, root: Path, serial: str | None, files: list[str]) -> None:
        try:
            runs = afterdock.dock(self.app, afterdock.DockRequest([root], None, serial,
                                                                  "folder_name" if serial else None, only=set(files)),
                                  self.stop_event, self.offloader)
        except (NoSpaceError, DBAPIError):
            # Reasons that pass (space freed, the database back): the camera's files are still
            # in the inbox, so the inbox's next walk hands them on again, and again after that.
            for source in self.sources:
                source.tracker.hand_again(files)
            event(log, logging.WARNING, "dock.retry_later", source=str(root), device=serial, files=len(files),
                  retry_in_s=self.app.settings.daemon.rescan_s)
            raise
        for run in runs:
            event(log, logging.INFO, "dock.done", source=str(root), device=serial, **run.counts())

    def reload(self) -> None:
        try:
            self.app.reload()
        except UserError as exc:  # a bad edit must not take the dock down: report it, keep running
            event(log, logging.ERROR, "daemon.reload_failed", error=str(exc))
            return
        afterdock.note_rules(self.app)
        event(log, logging.INFO, "daemon.reloaded")

    def run(self) -> None:
        self.app.open_staging()  # open (and sweep) staging before any worker thread can race to it
        for source in self.sources:
            source.start()
        if self.usb is not None:
            self.usb.start()
        self.scheduler.start()
        if self.app.settings.metrics.enabled:
            from ingestd.metrics import serve

            serve(self.app, lambda: len(self.inflight))
        web = None
        if self.app.settings.web.enabled:
            from ingestd.web.server import WebServer

            web = WebServer(self.app)
            web.start()
        afterdock.note_rules(self.app)  # a changed policy or calendar asks for every deadline again
        workers = afterdock.runner(self.app, AFTER_DOCK, name="jobs").start(self.stop_event)
        workers += afterdock.runner(self.app, DERIVATIVES, self.app.settings.media_workers,
                                    name="media").start(self.stop_event)
        workers += afterdock.runner(self.app, ON_REQUEST, 1, name="exports").start(self.stop_event)
        if self.app.settings.replica.enabled:
            workers += afterdock.runner(self.app, REPLICATION, 2, name="replica").start(self.stop_event)
        notify(ready="1", status=f"watching {len(self.sources)} inbox(es)")
        event(log, logging.INFO, "daemon.ready", inboxes=[str(s.inbox) for s in self.sources],
              dock=self.app.settings.dock_name)
        ping = watchdog_interval_s()
        steps = StepWatch(self.app)
        rechecked = time.monotonic()
        while not self.stop_event.wait(ping or 1.0):
            if ping:
                notify(watchdog="1")
            try:
                steps.observe()
                if self.waiting and time.monotonic() - rechecked >= RECHECK_EVERY.total_seconds():
                    rechecked = time.monotonic()
                    self.recheck_waiting()
            except DBAPIError as exc:  # said in the log; the database's outage is handled where docks meet it
                event(log, logging.ERROR, "daemon.tick_failed", exc=exc, error=repr(exc))
        notify(stopping="1", status="finishing dock sessions in flight")
        event(log, logging.INFO, "daemon.stopping", inflight=len(self.inflight))
        for source in self.sources:
            source.stop()
        if self.usb is not None:
            self.usb.stop()
        self.scheduler.shutdown(wait=True)
        self.leadership.close()
        if web is not None:
            web.stop()
        for thread in workers:
            thread.join(timeout=30)  # an ffmpeg run in flight ends at its own time limit; its lease hands it on
        self.pool.shutdown(wait=True)
        self.offloader.close()
        self.app.close()
        event(log, logging.INFO, "daemon.stopped")


def _mounter(app: App):
    from ingestd.sources.mount import SystemdMounter, UdisksMounter

    if app.settings.usb.mounter == "systemd-mount":
        return SystemdMounter(app.settings.data_dir / "mnt")
    return UdisksMounter()


def run_daemon(app: App) -> None:
    app.reload()  # a malformed profile, policy or calendar stops the start, naming the file
    if app.settings.replica.enabled:
        unreachable = bucket_problem(app)  # a bucket without Object Lock stops the start (UserError)
        if unreachable:
            event(log, logging.WARNING, "replica.unreachable", error=unreachable)
    daemon = Daemon(app)
    signal.signal(signal.SIGTERM, lambda *_: daemon.stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: daemon.stop_event.set())
    signal.signal(signal.SIGHUP, lambda *_: daemon.reload())
    daemon.run()
