"""Durable file-system steps: what has to reach the disk before the next step may start."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

_LIBC = ctypes.CDLL(None, use_errno=True)
HAS_SYNCFS = hasattr(_LIBC, "syncfs")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes, mode: int = 0o444, sync: bool = True) -> None:
    """Create a new file with `data`, fsynced unless the caller fsyncs the tree it is in
    (`fsync_tree`) before anything depends on it; refuses to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if sync:
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


def syncfs(path: Path) -> None:
    """Flush the whole filesystem holding `path` and wait (syncfs(2)): one flush for many
    files, where an fsync each would wait for the journal once per file."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _LIBC.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"syncfs: {os.strerror(err)}", str(path))
    finally:
        os.close(fd)


def makedirs(path: Path, durable: bool = True) -> list[Path]:
    """mkdir -p; with `durable`, fsyncing each parent that gained an entry, so the path
    survives a crash (else the caller flushes). Returns the directories it made."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    made = []
    for directory in reversed(missing):
        try:
            directory.mkdir()
            made.append(directory)
        except FileExistsError:
            pass  # another dock made it meanwhile
        if durable:
            fsync_dir(directory.parent)
    return made



def fsync_tree(root: Path, synced: frozenset[str] = frozenset()) -> None:
    """fsync every file and directory below root (a freshly assembled object), but the files
    in `synced`, made durable by whoever wrote them before they were moved in."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            if path in synced:
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))


def drop_cache(fd: int) -> None:
    """Ask the kernel to forget the file's cached pages so the next read comes from disk."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
