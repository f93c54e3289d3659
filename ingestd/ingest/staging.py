"""Per-process staging on the store's filesystem.

Each process owns one directory, held by an flock for its lifetime: half-copied files
and half-assembled objects live there and nowhere else. Before a step that could leave
something behind outside staging (new directories in the store, a version not yet in
its root inventory), the process drops a marker here and removes it when the step is
done. Whatever a process left when it died is swept by the next one to start, which
tells a dead owner from a live one because the lock is free, and gets back the markers
so the store can be repaired. Several processes and docks can share one data directory.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ingestd.durable import fsync_dir, write_file
from ingestd.errors import StoreError

LOCK = "owner.lock"
FORMING = "."  # a process's staging directory before its lock is held
FORMING_GRACE_S = 600  # forming takes a few system calls; one this old was abandoned
MARKER_KINDS = ("target", "version", "dock", "nospace")


@dataclass(frozen=True)
class Marker:
    # target: store paths being created (one a line) | version: an object being versioned |
    # dock: a dock session | nospace: a dock session cut short by a full disk
    kind: str
    value: str
    path: Path


@dataclass
class StagingArea:
    base: Path
    dir: Path = field(init=False)
    _lock_fd: int = field(init=False, default=-1, repr=False)

    def __repr__(self) -> str:  # `dir` exists only once opened: a failing test's App must still print
        return f"StagingArea({self.dir if self.is_open else self.base}, open={self.is_open})"

    def open(self) -> "StagingArea":
        self.base.mkdir(parents=True, exist_ok=True)
        name = f"p{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # A directory's lock file and the directory's own name appear only once the lock is
        # held (the lock is taken under a dot name, then renamed): a lock found free is a dead
        # process's, and a process starting beside this one would otherwise take this
        # directory for one between its creation and its lock, and sweep it away.
        forming = self.base / f"{FORMING}{name}"
        forming.mkdir()
        self._lock_fd = os.open(forming / f"{FORMING}{LOCK}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(forming / f"{FORMING}{LOCK}", forming / LOCK)
        self.dir = self.base / name
        os.rename(forming, self.dir)
        # A marker is only found after a power cut if the directory holding it is found too.
        fsync_dir(self.base)
        return self

    def close(self) -> None:
        """Remove this process's staging, unless it still notes unfinished steps: then it is
        only let go, and the next process to open staging settles them."""
        if self._lock_fd >= 0:
            if not self.markers_in(self.dir):
                shutil.rmtree(self.dir, ignore_errors=True)
            os.close(self._lock_fd)
            self._lock_fd = -1

    @property
    def is_open(self) -> bool:
        return self._lock_fd >= 0

    def new_path(self, suffix: str = "") -> Path:
        """A fresh staging file name ending in the original's extension: mediainfo picks
        its parser by extension and is ten times slower on one it does not know."""
        self._require_open()
        return self.dir / f"{uuid.uuid4().hex}.part{suffix}"

    def work_dir(self) -> Path:
        self._require_open()
        work = self.dir / f"obj-{uuid.uuid4().hex}"
        work.mkdir()
        return work

    def mark(self, kind: str, value: str, sync: bool = True) -> Marker:
        """Durably note an unfinished step (`sync=False`: the caller flushes the filesystem
        before the step begins); `done()` removes the note."""
        assert kind in MARKER_KINDS
        self._require_open()
        path = self.dir / f"{kind}-{uuid.uuid4().hex}"
        write_file(path, value.encode("utf-8"), 0o600, sync=sync)
        if sync:
            # The name must be durable as well as the bytes: a dock session committed as
            # `running` whose marker a power cut took would stay running for ever.
            fsync_dir(self.dir)
        return Marker(kind, value, path)

    def _require_open(self) -> None:
        if self._lock_fd < 0:
            raise StoreError("staging used before it was opened (App.staging opens it)")

    @staticmethod
    def done(marker: Marker) -> None:
        marker.path.unlink(missing_ok=True)

    def claim_stale(self) -> list[Path]:
        """Move the staging of dead processes into ours, so that no two sweepers work on
        the same one and a sweeper that dies mid-sweep leaves it for the next."""
        claimed = []
        for entry in sorted(self.base.iterdir()):
            if entry == getattr(self, "dir", None) or not entry.is_dir() or \
                    not _owner_is_dead(entry, lockless_is_dead=_formed_or_abandoned(entry)):
                continue
            target = self.dir / f"swept-{entry.name}"
            try:
                os.rename(entry, target)
            except FileNotFoundError:
                continue  # another process claimed it first
            claimed.append(target)
        return claimed

    @staticmethod
    def markers_in(directory: Path) -> list[Marker]:
        """Unfinished steps recorded in a dead process's staging (and in any it had claimed)."""
        found: list[Marker] = []
        for path in sorted(directory.iterdir()):
            if path.is_dir() and path.name.startswith("swept-"):
                found += StagingArea.markers_in(path)
            elif path.is_file() and path.name.split("-", 1)[0] in MARKER_KINDS:
                found.append(Marker(path.name.split("-", 1)[0], path.read_text("utf-8"), path))
        return found

    @staticmethod
    def remove(directory: Path) -> None:
        shutil.rmtree(directory)


def _formed_or_abandoned(directory: Path) -> bool:
    """A directory under its own name, or one left forming far longer than forming takes (its
    process was killed between the mkdir and the lock): without a lock, its owner is dead."""
    if not directory.name.startswith(FORMING):
        return True
    try:
        return time.time() - directory.stat().st_mtime > FORMING_GRACE_S
    except FileNotFoundError:
        return False  # formed (renamed) meanwhile: looked at again by the next sweep


def _owner_is_dead(directory: Path, lockless_is_dead: bool) -> bool:
    try:
        fd = os.open(directory / LOCK, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return lockless_is_dead
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        raise StoreError(f"cannot check staging owner {directory}: {exc}") from exc
    finally:
        os.close(fd)
    return True
