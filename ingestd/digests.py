"""Digests of files: SHA-256 (the recording id, OCFL's digest) and SM3 (GB/T 32905, the
national standard the 文字说明 lists beside it).

SM3 comes from OpenSSL through hashlib where OpenSSL provides it, since hashlib releases
the GIL while it hashes, so threads hash on every core; otherwise from the cryptography
package (the same OpenSSL code, holding the GIL)."""

from __future__ import annotations

import hashlib
import os
from typing import Protocol

from cryptography.hazmat.primitives import hashes

CHUNK = 4 << 20


class Hasher(Protocol):
    def update(self, data: bytes | memoryview) -> None: ...
    def hexdigest(self) -> str: ...


class _CryptographySm3:
    def __init__(self) -> None:
        self._h = hashes.Hash(hashes.SM3())

    def update(self, data: bytes | memoryview) -> None:
        self._h.update(bytes(data) if isinstance(data, memoryview) else data)

    def hexdigest(self) -> str:
        return self._h.finalize().hex()


HASHLIB_SM3 = "sm3" in hashlib.algorithms_available


def new_sm3() -> Hasher:
    return hashlib.new("sm3") if HASHLIB_SM3 else _CryptographySm3()


def file_digests(path: str | os.PathLike, *, sha256: bool = False, sm3: bool = False,
                 chunk: int = CHUNK) -> dict[str, str]:
    """The asked-for digests of one file, from one read in fixed-size chunks."""
    hashers: dict[str, Hasher] = {}
    if sha256:
        hashers["sha256"] = hashlib.sha256()
    if sm3:
        hashers["sm3"] = new_sm3()
    buf = memoryview(bytearray(chunk))
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while n := os.readv(fd, [buf]):
            for h in hashers.values():
                h.update(buf[:n])
    finally:
        os.close(fd)
    return {name: h.hexdigest() for name, h in hashers.items()}
