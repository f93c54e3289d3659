"""Offload one file: read it once, SHA-256 it, write it once, prove the copy.

One streaming pass in fixed-size chunks (never the whole file in memory) feeds SHA-256
and the write to a staging file on the store's filesystem. Then fsync, the structural
check, and a re-read from disk to check the SHA-256. The staged file is written and
re-read with O_DIRECT where the filesystem allows it: the re-read then comes from the
device, not from a page cache that an advisory drop may have left in place, and neither
pass copies the bytes through the kernel's cache (a third of the CPU time otherwise).
Elsewhere (tmpfs) the pages are dropped before the re-read, as well as can be asked. SM3 and the full media probe are after-dock jobs
over the stored copy: the copy is proven identical to the source, so their digests are
the source's, and the camera need not wait for them.

hashlib and the writes release the GIL, so offloads run in threads (pipeline.py): no
worker processes to outlive their parent.

The source is opened with O_NOFOLLOW|O_NONBLOCK and checked to be a regular file after
opening, so a name swapped for a symlink or FIFO between walk and open is not followed.
The source is only ever read. A file that changes while it is copied (a camera still
writing, a folder still being filled) is not stored: the next dock takes it whole.

This module imports nothing that touches the database.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import mmap
import os
import stat
import time
from dataclasses import dataclass
from typing import Callable

from ingestd import failpoints
from ingestd.durable import drop_cache
from ingestd.logs import event
from ingestd.errors import StoreError
from ingestd.deep_path import lstat_path, open_path
from ingestd.ingest.probe import ProbeResult, probe


@dataclass(frozen=True)
class OffloadRequest:
    source: str
    staged: str
    chunk_size: int
    media: bool = True  # False for sidecars (camera logs): kept exactly, never probed
    listed_size: int | None = None  # what the walk saw: a file that changed since is not taken
    listed_mtime_ns: int | None = None
    # Told each chunk's length as it is read (the dock screen's progress); never decides anything.
    on_read: Callable[[int], None] | None = None


@dataclass(frozen=True)
class OffloadResult:
    source: str
    staged: str | None  # None when nothing was kept
    size: int
    sha256: str | None
    seconds: float
    error_code: str | None = None  # finding code: read_failed | verify_mismatch | skipped_special | ...
    error: str | None = None
    probe: ProbeResult | None = None
    mtime_ns: int | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


log = logging.getLogger("ingestd.ingest")


class _SourceProblem(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def offload(req: OffloadRequest) -> OffloadResult:
    started = time.monotonic()
    try:
        size, sha256, mtime_ns = _copy(req)
        # Check the structure while the staged pages are still cached: the demuxer reads the
        # header and index, and reading them from disk again would cost more than the copy.
        result_probe = checked(req.staged, size) if req.media else ProbeResult(damaged=False)
        _verify(req.staged, sha256, req.chunk_size, size)
    except _SourceProblem as exc:
        _discard(req.staged)
        return OffloadResult(req.source, None, 0, None, time.monotonic() - started, exc.code, str(exc))
    except OSError as exc:  # the staging side: disk full, I/O error on the dock's own disk
        _discard(req.staged)
        return OffloadResult(req.source, None, 0, None, time.monotonic() - started,
                             "store_write_failed", f"{exc.strerror or exc}")
    return OffloadResult(req.source, req.staged, size, sha256, time.monotonic() - started,
                         probe=result_probe, mtime_ns=mtime_ns)


def checked(staged: str, size: int) -> ProbeResult:
    """The structural check, which a hostile file must never turn into the end of the dock.
    A crash of the check is the checker's failure, not the file's: the file is stored as
    `unchecked` and checked again after the dock — calling it damaged would open an incident
    asking an officer to explain in writing (002 第16条) what may be a good recording."""
    try:
        failpoints.hit("check.structure")
        return probe(staged, size)
    except OSError:
        raise  # the dock's own disk: handled as a write failure
    except Exception as exc:  # noqa: BLE001 - logged with its traceback; the file is still stored
        event(log, logging.ERROR, "file.check_crashed", exc=exc, staged=staged)
        return ProbeResult(damaged=False, check_failed=True,
                           reason=f"the structural check failed ({type(exc).__name__}: {exc})"[:300])


def _copy(req: OffloadRequest) -> tuple[int, str, int]:
    try:
        src = open_path(req.source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _SourceProblem("read_failed", f"cannot open: {exc.strerror}") from None
    try:
        before = os.fstat(src)
        if not stat.S_ISREG(before.st_mode):
            raise _SourceProblem("skipped_special", "changed into a non-regular file after it was listed")
        _unchanged(req, before, "since it was listed")
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(src, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        dst, direct = _create_staged(req.staged, before.st_size)
        try:
            size, sha = _stream(src, dst, req.chunk_size, direct, req.on_read)
            os.fsync(dst)
        finally:
            os.close(dst)
        after = os.fstat(src)
        if size != before.st_size or (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise _SourceProblem("changed_during_copy", f"grew or changed while it was copied "
                                                        f"({before.st_size} → {after.st_size} bytes)")
        try:
            named = lstat_path(req.source)
        except OSError as exc:
            raise _SourceProblem("changed_during_copy", f"gone or replaced while it was copied: {exc.strerror}")
        if (named.st_ino, named.st_dev) != (before.st_ino, before.st_dev):
            raise _SourceProblem("changed_during_copy", "replaced by another file while it was copied")
        return size, sha, before.st_mtime_ns
    finally:
        os.close(src)


def _unchanged(req: OffloadRequest, st: os.stat_result, when: str) -> None:
    if req.listed_size is not None and (st.st_size, st.st_mtime_ns) != (req.listed_size, req.listed_mtime_ns):
        raise _SourceProblem("changed_during_copy", f"changed {when} ({req.listed_size} → {st.st_size} bytes)")


ALIGN = 4096  # O_DIRECT offsets and lengths: a multiple of the device's logical block
# Below this, a file goes through the page cache: each O_DIRECT write waits for the device,
# and for a few megabytes that waiting costs more than the cache's copies save.
DIRECT_FROM = 16 << 20


def _create_staged(path: str, size: int) -> tuple[int, bool]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        return os.open(path, flags | (os.O_DIRECT if size >= DIRECT_FROM else 0), 0o600), size >= DIRECT_FROM
    except FileExistsError:
        # Staging names are random: a clash is a bug, and the file is not ours to remove.
        raise StoreError(f"staging file already exists: {path}") from None
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
    # The filesystem takes no O_DIRECT (tmpfs): the file may exist now, empty and ours.
    os.unlink(path)
    return os.open(path, flags, 0o600), False


def _aligned(size: int) -> memoryview:
    """A page-aligned buffer (anonymous mmap), as O_DIRECT needs; reused for every chunk, so
    no chunk is ever allocated (a fresh 1 MiB object per read cost a third of the CPU)."""
    return memoryview(mmap.mmap(-1, size))


def _stream(src: int, dst: int, chunk_size: int, direct: bool,
            on_read: Callable[[int], None] | None = None) -> tuple[int, str]:
    sha = hashlib.sha256()
    buf = _aligned(chunk_size)
    size = 0
    while True:
        n = _fill(src, buf, size)
        if n == 0:
            break
        sha.update(buf[:n])
        size += n
        if on_read is not None:
            on_read(n)
        if direct and n % ALIGN:
            # The last, partial chunk: written whole blocks with zeros after the end, then
            # the file is cut back to its true length.
            padded = n + ALIGN - n % ALIGN
            buf[n:padded] = bytes(padded - n)
            _write_all(dst, buf[:padded])
            os.ftruncate(dst, size)
            break
        _write_all(dst, buf[:n])
        if n < len(buf):
            break  # end of file
    return size, sha.hexdigest()


def _fill(src: int, buf: memoryview, offset: int) -> int:
    """Read until the buffer is full or the file ends (a camera may return short reads)."""
    filled = 0
    while filled < len(buf):
        try:
            n = os.readv(src, [buf[filled:]])
        except OSError as exc:
            raise _SourceProblem("read_failed", f"read error after {offset + filled} bytes: {exc.strerror}") from None
        if n == 0:
            break
        filled += n
    return filled


def _write_all(fd: int, chunk: memoryview) -> None:
    while chunk:
        chunk = chunk[os.write(fd, chunk):]


def _verify(staged: str, expected_sha256: str, chunk_size: int, size: int) -> None:
    """Re-read the staged copy from the device and compare digests."""
    sha = hashlib.sha256()
    buf = _aligned(chunk_size)
    fd = -1
    if size >= DIRECT_FROM:
        try:
            fd = os.open(staged, os.O_RDONLY | os.O_CLOEXEC | os.O_DIRECT)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
    if fd < 0:
        fd = os.open(staged, os.O_RDONLY | os.O_CLOEXEC)
        drop_cache(fd)
    try:
        while n := os.readv(fd, [buf]):
            sha.update(buf[:n])
    finally:
        os.close(fd)
    if sha.hexdigest() != expected_sha256:
        raise _SourceProblem("verify_mismatch", "the copy re-read from disk does not match what was read")


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
