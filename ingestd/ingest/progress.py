"""Bytes a dock has dealt with so far, counted as the offload threads read them: the dock
screen's progress and time left move during a 600 MB file, not only when a file is
committed. Kept in the memory of the process that copies (the dock's daemon, which serves
its own dock screen); any other process reads the committed count (`dock_sessions.bytes_seen`),
which moves file by file."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Moving:
    done: int  # bytes read, or known without reading (already stored, skipped)
    read: int  # of those, actually read off the camera: the rate's numerator


_lock = threading.Lock()
_sessions: dict[str, list[int]] = {}


def begin(session: str) -> None:
    with _lock:
        _sessions[session] = [0, 0]


def read(session: str, n: int) -> None:
    with _lock:
        counts = _sessions.get(session)
        if counts is not None:
            counts[0] += n
            counts[1] += n


def known(session: str, n: int) -> None:
    """Bytes the dock need not read (a file it has, one it does not take)."""
    with _lock:
        counts = _sessions.get(session)
        if counts is not None:
            counts[0] += n


def end(session: str) -> None:
    with _lock:
        _sessions.pop(session, None)


def now(session: str) -> Moving | None:
    """This process's count for a session it is copying, or None."""
    with _lock:
        counts = _sessions.get(session)
        return Moving(counts[0], counts[1]) if counts is not None else None
