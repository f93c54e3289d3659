"""Peak memory of a process tree, sampled while it runs (for `make bench`)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


class PeakMemory:
    """Samples a process tree: the largest single RSS, and the summed PSS (shared pages
    counted once, split between their sharers: what the tree really costs in memory)."""

    def __init__(self, pid: int):
        self.pid, self.peak_rss, self.peak_pss, self._stop = pid, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self, pid: int) -> list[int]:
        out = [pid]
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split():
                    out += self._tree(int(child))
        except OSError:
            pass
        return out

    @staticmethod
    def _field(path: str, name: str) -> int:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(name):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            tree = self._tree(self.pid)
            self.peak_rss = max([self.peak_rss] + [self._field(f"/proc/{p}/status", "VmRSS:") for p in tree])
            self.peak_pss = max(self.peak_pss, sum(self._field(f"/proc/{p}/smaps_rollup", "Pss:") for p in tree))

    def stop(self) -> tuple[int, int]:
        self._stop.set()
        self._thread.join()
        return self.peak_rss, self.peak_pss
