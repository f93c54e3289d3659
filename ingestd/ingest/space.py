"""Free space on the disks a dock writes to: the store's (staging is on it) and, for SQLite,
the database's. Below the reserve a dock is refused before it copies anything, so that
no dock fails half way for want of space."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20


@dataclass(frozen=True)
class LowSpace:
    what: str  # "store" | "database"
    path: str
    free_mb: int
    reserve_mb: int

    @property
    def message(self) -> str:
        return (f"the {self.what}'s disk ({self.path}) has {self.free_mb} MiB free, below the reserve of "
                f"{self.reserve_mb} MiB (ingest.reserve_mb)")


def low_space(places: list[tuple[str, Path]], reserve_mb: int) -> list[LowSpace]:
    out = []
    for what, path in places:
        st = os.statvfs(path)
        free = st.f_bavail * st.f_frsize // MIB
        if free < reserve_mb:
            out.append(LowSpace(what, os.fspath(path), free, reserve_mb))
    return out
