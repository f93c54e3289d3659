"""Offload one file: read it once, hash it twice, write it once, prove the copy.

One streaming pass in fixed-size chunks (never the whole file in memory): each chunk
feeds SHA-256 and SM3 and is written to a staging file on the store's filesystem. Then
fsync, probe, drop the staged pages from the cache, and re-read from disk to check the
SHA-256.
SM3 (cryptography) holds the GIL while SHA-256 (hashlib) and the write release it, so
they run in a side thread alongside SM3: about two cores per large file. Different files
go to different worker processes (see pipeline.py).

The source is opened with O_NOFOLLOW|O_NONBLOCK and checked to be a regular file after
opening, so a name swapped for a symlink or FIFO between walk and open is not followed.
The source is only ever read.

This module runs in worker processes: it imports nothing that touches the database.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes

from ingestd.durable import drop_cache
from ingestd.errors import StoreError
from ingestd.ingest.probe import ProbeResult, probe


@dataclass(frozen=True)
class OffloadRequest:
    source: str
    staged: str
    chunk_size: int
    probe_timeout_s: float
    media: bool = True  # False for sidecars (camera logs): kept exactly, never probed


@dataclass(frozen=True)
class OffloadResult:
    source: str
    staged: str | None  # None when nothing was kept
    size: int
    sha256: str | None
    sm3: str | None
    seconds: float
    error_code: str | None = None  # finding code: read_failed | verify_mismatch | skipped_special
    error: str | None = None
    probe: ProbeResult | None = None
    mtime_ns: int | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


class _SourceProblem(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def offload(req: OffloadRequest) -> OffloadResult:
    started = time.monotonic()
    try:
        size, sha256, sm3, mtime_ns = _copy(req)
        # Probe while the staged pages are still cached: ffprobe reads megabytes to find
        # stream parameters, and reading them from disk again would cost more than the copy.
        result_probe = probe(req.staged, size, req.probe_timeout_s) if req.media else ProbeResult(damaged=False)
        _verify(req.staged, sha256, req.chunk_size)
    except _SourceProblem as exc:
        _discard(req.staged)
        return OffloadResult(req.source, None, 0, None, None, time.monotonic() - started, exc.code, str(exc))
    except OSError as exc:  # the staging side: disk full, I/O error on the dock's own disk
        _discard(req.staged)
        return OffloadResult(req.source, None, 0, None, None, time.monotonic() - started,
                             "store_write_failed", f"{exc.strerror or exc}")
    return OffloadResult(req.source, req.staged, size, sha256, sm3, time.monotonic() - started,
                         probe=result_probe, mtime_ns=mtime_ns)


def _copy(req: OffloadRequest) -> tuple[int, str, str, int]:
    try:
        src = os.open(req.source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _SourceProblem("read_failed", f"cannot open: {exc.strerror}") from None
    try:
        st = os.fstat(src)
        if not stat.S_ISREG(st.st_mode):
            raise _SourceProblem("skipped_special", "changed into a non-regular file after it was listed")
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(src, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        try:
            dst = os.open(req.staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            # Staging names are random: a clash is a bug, and the file is not ours to remove.
            raise StoreError(f"staging file already exists: {req.staged}") from None
        try:
            size, sha, sm3 = _stream(src, dst, req.chunk_size)
            os.fsync(dst)
        finally:
            os.close(dst)
        return size, sha, sm3, st.st_mtime_ns
    finally:
        os.close(src)


def _stream(src: int, dst: int, chunk_size: int) -> tuple[int, str, str]:
    """Two reusable buffers, so no chunk is ever allocated: a fresh 1 MiB object per read
    costs page faults and zeroing that showed up as a third of the CPU time."""
    sha = hashlib.sha256()
    sm3 = hashes.Hash(hashes.SM3())
    buffers = [memoryview(bytearray(chunk_size)), memoryview(bytearray(chunk_size))]
    size = 0

    def hash_and_write(chunk: memoryview) -> None:
        sha.update(chunk)
        while chunk:
            chunk = chunk[os.write(dst, chunk):]

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="offload-write") as side:
        pending = None
        turn = 0
        while True:
            buf = buffers[turn]
            try:
                n = os.readv(src, [buf])
            except OSError as exc:
                if pending is not None:
                    pending.result()
                raise _SourceProblem("read_failed", f"read error after {size} bytes: {exc.strerror}") from None
            if pending is not None:
                pending.result()  # the other buffer is free again before it is reused
                pending = None
            if n == 0:
                break
            chunk = buf[:n]
            pending = side.submit(hash_and_write, chunk)
            sm3.update(chunk)
            size += n
            turn ^= 1
        if pending is not None:
            pending.result()
    return size, sha.hexdigest(), sm3.finalize().hex()


def _verify(staged: str, expected_sha256: str, chunk_size: int) -> None:
    sha = hashlib.sha256()
    buf = memoryview(bytearray(chunk_size))
    fd = os.open(staged, os.O_RDONLY | os.O_CLOEXEC)
    try:
        drop_cache(fd)
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
