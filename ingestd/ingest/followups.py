"""What the dock path asks of the layer above it, without importing it: the work that
follows a committed recording or a started session is enqueued, in the same
transaction, by whoever runs the dock (ingestd.afterdock decides what follows what)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ingestd.changes import Change
    from ingestd.db.models import Recording


class FollowUps(Protocol):
    def session_started(self, ch: "Change", session_id: str, now: datetime) -> None:
        """Ask for the session's own jobs, held until it is released."""

    def recordings_committed(self, ch: "Change", recs: list["Recording"], session_id: str, now: datetime) -> None:
        """Ask for the jobs of recordings just recorded (in one batch)."""
