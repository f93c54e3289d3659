"""Named crash points, for the crash tests: with INGESTD_FAILPOINTS="job.handled:timeline,
dock.stored" the process kills itself with SIGKILL (as a power cut or the OOM killer
would: no cleanup, no finally) the first time it reaches a named point. Without the
variable, reaching a point is one set lookup.

Points: dock.stored (an object is in the store, not yet in the database), dock.recorded
(a batch is in the database, the session not yet released), job.claimed:<kind> (a job
is leased, its work not begun), job.handled:<kind> (its work is committed, the job not
yet marked done), db.backup_copied (the copy taken before an upgrade is written, not yet
checked or named), evict.marked (an original marked leaving, its object still in the store),
evict.moved (its object moved out, not yet marked in the bucket), restore.fetched (an
object's files downloaded from the bucket for a restore or a recall, none moved in yet).

A point armed as `<name>=raise` raises InjectedFault there instead: a bug in a part, not a
power cut (check.structure: the structural check of a file crashes)."""

from __future__ import annotations

import os
import signal

_POINTS = [p.strip() for p in os.environ.get("INGESTD_FAILPOINTS", "").split(",") if p.strip()]
_ARMED = frozenset(p for p in _POINTS if not p.endswith("=raise"))
_RAISING = frozenset(p.removesuffix("=raise") for p in _POINTS if p.endswith("=raise"))


class InjectedFault(RuntimeError):
    """Raised at a point armed `=raise`: stands for an unexpected error of the part there."""


def hit(point: str) -> None:
    if point in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
    if point in _RAISING:
        raise InjectedFault(f"fault injected at {point}")
