"""A camera's paths can be deeper than the kernel resolves in one call (PATH_MAX, 4096
bytes; ENAMETOOLONG): a corrupt FAT, or a tree made to stop the dock. Such a path is
opened one directory at a time (openat), so depth is no limit and the files beside it are
taken as usual. Every path that fits is opened as it always was, in one call."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def at_parent(path: str, step: Callable[[str, int], T]) -> T:
    """`step(name, dir_fd)` for the last component of `path`, its directory opened by
    walking down from the root one component at a time."""
    parent, name = os.path.split(path)
    fd = os.open("/" if os.path.isabs(parent) else ".", DIRECTORY)
    try:
        for part in parent.split("/"):
            if part:
                inner = os.open(part, DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = inner
        return step(name, fd)
    finally:
        os.close(fd)


def _too_long(exc: OSError) -> bool:
    return exc.errno == errno.ENAMETOOLONG


def open_path(path: str, flags: int) -> int:
    try:
        return os.open(path, flags)
    except OSError as exc:
        if not _too_long(exc):
            raise
    return at_parent(path, lambda name, fd: os.open(name, flags, dir_fd=fd))


def lstat_path(path: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except OSError as exc:
        if not _too_long(exc):
            raise
    return at_parent(path, lambda name, fd: os.stat(name, dir_fd=fd, follow_symlinks=False))


def _name(entry: tuple[str, os.stat_result]) -> str:
    return entry[0]


def list_dir(path: str) -> list[tuple[str, os.stat_result]]:
    """The entries of a directory with their lstat, sorted by name."""
    try:
        with os.scandir(path) as it:
            return sorted(((e.name, e.stat(follow_symlinks=False)) for e in it), key=_name)
    except OSError as exc:
        if not _too_long(exc):
            raise
    fd = open_path(path, DIRECTORY)
    try:
        with os.scandir(fd) as it:
            return sorted(((e.name, e.stat(follow_symlinks=False)) for e in it), key=_name)
    finally:
        os.close(fd)


def tree(root: str) -> Iterator[tuple[str, os.stat_result | None]]:
    """Every entry under `root` that is not a directory, with its lstat: depth-first, a
    directory's own entries before its subdirectories, sorted by name, no link followed, at
    any depth. A directory that cannot be listed comes as itself with None."""
    stack = [root]
    while stack:
        current = stack.pop()
        try:
            entries = list_dir(current)
        except OSError:
            yield current, None
            continue
        subdirs = []
        for name, st in entries:
            path = os.path.join(current, name)
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(path)
            else:
                yield path, st
        stack.extend(reversed(subdirs))


def files_under(root: str) -> Iterator[str]:
    """Every path under `root` that is not a directory (see `tree`); a directory that cannot
    be listed is passed over (its files are met when they are docked)."""
    return (path for path, st in tree(root) if st is not None)
