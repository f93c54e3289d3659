"""Per-process staging on the store's filesystem.

Each process owns one directory, held by an flock for its lifetime. Whatever a process
left behind when it died (a half-copied file, a half-assembled object) is swept away by
the next process to start, which can tell a dead owner from a live one because the lock
is free. Several ingest processes and docks can therefore share one data directory.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ingestd.errors import StoreError

LOCK = "owner.lock"
OWNER = "owner.json"


@dataclass
class StagingArea:
    base: Path
    dir: Path = field(init=False)
    _lock_fd: int = field(init=False, default=-1)

    def open(self) -> "StagingArea":
        self.base.mkdir(parents=True, exist_ok=True)
        self.dir = self.base / f"p{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.dir.mkdir()
        self._lock_fd = os.open(self.dir / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._write_owner([])
        return self

    def close(self) -> None:
        if self._lock_fd >= 0:
            shutil.rmtree(self.dir, ignore_errors=True)
            os.close(self._lock_fd)
            self._lock_fd = -1

    def new_path(self, suffix: str = "") -> Path:
        return self.dir / f"{uuid.uuid4().hex}{suffix}.part"

    def note_dock_session(self, session_id: str) -> None:
        """Remember which dock sessions this process runs, so that if it dies the next
        process can mark them interrupted."""
        owner = json.loads((self.dir / OWNER).read_text())
        owner["dock_sessions"].append(session_id)
        self._write_owner(owner["dock_sessions"])

    def _write_owner(self, sessions: list[str]) -> None:
        tmp = self.dir / f"{OWNER}.tmp"
        tmp.write_text(json.dumps({"pid": os.getpid(), "dock_sessions": sessions}))
        os.replace(tmp, self.dir / OWNER)

    def sweep_stale(self) -> list[str]:
        """Remove staging left by dead processes. Returns their unfinished dock sessions."""
        if not self.base.is_dir():
            return []
        orphaned: list[str] = []
        for entry in sorted(self.base.iterdir()):
            if entry == getattr(self, "dir", None) or not entry.is_dir():
                continue
            if not _owner_is_dead(entry):
                continue
            try:
                orphaned += json.loads((entry / OWNER).read_text()).get("dock_sessions", [])
            except (OSError, ValueError):
                pass
            shutil.rmtree(entry)
        return orphaned


def _owner_is_dead(directory: Path) -> bool:
    lock = directory / LOCK
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return True  # died before it could take its lock
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        raise StoreError(f"cannot check staging owner {directory}: {exc}") from exc
    finally:
        os.close(fd)
    return True
