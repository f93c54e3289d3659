"""Durable file-system steps: what has to reach the disk before the next step may start."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes, mode: int = 0o444) -> None:
    """Create a new file with `data`, fsynced; refuses to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, mode)


def replace_file(path: Path, data: bytes, mode: int = 0o444) -> None:
    """Atomically replace `path` with `data`: write beside it, fsync, rename, fsync the dir."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        tmp.unlink()
    write_file(tmp, data, mode)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def makedirs_durable(path: Path) -> None:
    """mkdir -p, fsyncing each parent that gained an entry, so the path survives a crash."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            pass  # another dock made it meanwhile
        fsync_dir(directory.parent)


def fsync_tree(root: Path) -> None:
    """fsync every file and directory below root (a freshly assembled object)."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))


def drop_cache(fd: int) -> None:
    """Ask the kernel to forget the file's cached pages so the next read comes from disk."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
