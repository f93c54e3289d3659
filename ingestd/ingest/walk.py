"""Enumerate what is on a camera without trusting it: nothing is followed, opened or
executed while walking; every entry is classified from lstat alone."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ingestd.deep_path import tree
from ingestd.ingest.names import display


@dataclass(frozen=True)
class SourceEntry:
    path: str  # absolute, as the OS names it (may hold surrogate escapes)
    rel_path: str  # display-safe, '/'-separated, relative to the dock root
    kind: str  # file | symlink | fifo | device | socket | other
    size: int | None
    mtime_ns: int | None
    # The relative path as the bytes the camera's filesystem holds: what "the same file" is
    # compared on, since two different names can display alike (a literal "\xff" and 0xFF).
    rel_raw: bytes = b""

    @property
    def display_path(self) -> str:
        return display(self.path)


def kind_of_mode(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "other"


def walk(root: Path) -> Iterator[SourceEntry]:
    """Depth-first, sorted by name, never descending into a symlinked directory; as deep as
    the camera's tree goes (deep_path)."""
    root_str = os.fspath(root)
    for path, st in tree(root_str):
        if st is None:
            # An unreadable directory is reported as one entry rather than dropped silently.
            yield SourceEntry(path, _rel(root_str, path), "unreadable_dir", None, None, _raw(root_str, path))
            continue
        kind = kind_of_mode(st.st_mode)
        yield SourceEntry(path, _rel(root_str, path), kind,
                          st.st_size if kind == "file" else None, st.st_mtime_ns, _raw(root_str, path))


def _rel(root: str, path: str) -> str:
    return display(os.path.relpath(path, root)).replace(os.sep, "/")


def _raw(root: str, path: str) -> bytes:
    return os.fsencode(os.path.relpath(path, root))
