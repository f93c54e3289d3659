"""Inbox folders (docks that copy to a share, and tests): watchdog on each folder, and a
file is taken only once it has stopped changing — closed after writing where inotify
reports it, else unchanged in size and mtime for a quiet period — so a half-copied file
is never ingested. Each top-level folder of an inbox is one camera (its name is taken
as the device serial); files directly in the inbox have no device.

The inbox is also walked now and then: inotify cannot watch a directory deeper than the
system resolves in one call, and drops events when its queue is full. The walk hands on
only what changed since it was last handed on, so a camera is not docked again for nothing
— or what its owner gave back (`hand_again`: a dock refused for want of space, or cut off
by the database, is tried again at the next walk while the files are still there).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ingestd.deep_path import files_under, lstat_path
from ingestd.logs import event

log = logging.getLogger("ingestd.sources.folder")


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    changed_at: float
    closed: bool = False


@dataclass
class SettleTracker:
    """Which files have stopped changing. Pure bookkeeping over a monotonic clock."""

    quiet_s: float
    files: dict[str, _Seen] = field(default_factory=dict)
    handed: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> (size, mtime_ns) handed on
    lock: threading.Lock = field(default_factory=threading.Lock)

    def touch(self, path: str, now: float, closed: bool = False, unless_handed: bool = False) -> None:
        """`unless_handed`: only if it changed since it was last handed on (the periodic walk)."""
        try:
            st = lstat_path(path)
        except FileNotFoundError:
            with self.lock:
                self.files.pop(path, None)
            return
        with self.lock:
            if unless_handed and self.handed.get(path) == (st.st_size, st.st_mtime_ns):
                return
            seen = self.files.get(path)
            if seen is None or (seen.size, seen.mtime_ns) != (st.st_size, st.st_mtime_ns):
                self.files[path] = _Seen(st.st_size, st.st_mtime_ns, now, closed)
            elif closed:
                seen.closed = True

    def pop_settled(self, now: float) -> list[str]:
        """Files unchanged since they were closed, or for the quiet period."""
        settled = []
        with self.lock:
            for path, seen in list(self.files.items()):
                try:
                    st = lstat_path(path)
                except FileNotFoundError:
                    del self.files[path]
                    continue
                if (st.st_size, st.st_mtime_ns) != (seen.size, seen.mtime_ns):
                    self.files[path] = _Seen(st.st_size, st.st_mtime_ns, now)
                    continue
                if seen.closed or now - seen.changed_at >= self.quiet_s:
                    settled.append(path)
                    self.handed[path] = (st.st_size, st.st_mtime_ns)
                    del self.files[path]
        return settled

    def hand_again(self, paths: list[str]) -> None:
        """Files whose dock failed for a reason that passes: the next walk hands them on again."""
        with self.lock:
            for path in paths:
                self.handed.pop(path, None)

    def forget_except(self, present: set[str]) -> None:
        """Drop what is remembered of files no longer in the inbox."""
        with self.lock:
            for path in [p for p in self.handed if p not in present]:
                del self.handed[path]


class _Handler(FileSystemEventHandler):
    def __init__(self, tracker: SettleTracker, clock: Callable[[], float]):
        self.tracker, self.clock = tracker, clock

    def on_any_event(self, ev: FileSystemEvent) -> None:
        if ev.is_directory:
            return
        if ev.event_type == "moved":
            self.tracker.touch(os.fsdecode(ev.dest_path), self.clock())
        elif ev.event_type in ("created", "modified"):
            self.tracker.touch(os.fsdecode(ev.src_path), self.clock())
        elif ev.event_type == "closed":  # IN_CLOSE_WRITE
            self.tracker.touch(os.fsdecode(ev.src_path), self.clock(), closed=True)


Batch = Callable[[Path, str | None, list[str]], None]


class FolderSource:
    """Watches one inbox and hands settled files, grouped per camera folder, to `on_batch`."""

    def __init__(self, inbox: Path, on_batch: Batch, quiet_s: float = 5.0, poll_s: float = 0.5,
                 clock: Callable[[], float] = time.monotonic, rescan_s: float = 60.0):
        self.inbox, self.on_batch, self.poll_s, self.clock = inbox, on_batch, poll_s, clock
        self.rescan_s = rescan_s
        self.tracker = SettleTracker(quiet_s)
        self._observer = Observer()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"inbox:{inbox.name}", daemon=True)

    def start(self) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        self._observer.schedule(_Handler(self.tracker, self.clock), str(self.inbox), recursive=True)
        self._observer.start()
        # Files already there when the daemon starts are taken too (resumed, not re-copied).
        self._walk()
        self._thread.start()
        event(log, logging.INFO, "inbox.watching", inbox=str(self.inbox))

    def stop(self) -> None:
        self._stop.set()
        self._observer.stop()
        self._observer.join(timeout=10)
        self._thread.join(timeout=10)

    def _walk(self) -> None:
        present = set()
        for path in files_under(os.fspath(self.inbox)):
            present.add(path)
            self.tracker.touch(path, self.clock(), unless_handed=True)
        self.tracker.forget_except(present)
        self._walked_at = self.clock()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            if self.clock() - self._walked_at >= self.rescan_s:
                self._walk()
            settled = self.tracker.pop_settled(self.clock())
            for root, serial, files in self._group(settled):
                self.on_batch(root, serial, files)

    def _group(self, paths: list[str]) -> list[tuple[Path, str | None, list[str]]]:
        groups: dict[str | None, list[str]] = {}
        for p in paths:
            rel = Path(p).relative_to(self.inbox)
            groups.setdefault(rel.parts[0] if len(rel.parts) > 1 else None, []).append(p)
        return [(self.inbox / serial if serial else self.inbox, serial, sorted(files))
                for serial, files in sorted(groups.items(), key=lambda kv: kv[0] or "")]
