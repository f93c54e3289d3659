"""Finding a recording from what a person types: its id or a unique prefix of 8+ digits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingestd.db.models import Device, Eviction, Recording
from ingestd.db.states import EvictionState
from ingestd.errors import StoreError, UserError


def recording_for_job(app, rec_id: str) -> Recording | None:
    """The recording an after-dock job works on; None once retention deleted it (nothing
    is left to hash, probe or transcode)."""
    with app.db.reading() as s:
        rec = s.get(Recording, rec_id)
    if rec is None:
        raise StoreError(f"recording {rec_id} is not in the index")
    return None if rec.status == "deleted" else rec


def find_recording(session: Session, rec_id: str) -> tuple[Recording, str | None]:
    """The recording and its camera's serial."""
    if len(rec_id) < 8 or any(c not in "0123456789abcdef" for c in rec_id.lower()):
        raise UserError(f"recording id must be 8 or more hex digits: {rec_id!r}")
    rows = session.execute(select(Recording, Device.serial).outerjoin(Device, Recording.device_id == Device.id)
                           .where(Recording.id.startswith(rec_id.lower())).limit(2)).all()
    if not rows:
        raise UserError(f"no recording with id {rec_id}")
    if len(rows) > 1:
        raise UserError(f"recording id prefix {rec_id} is ambiguous: give more digits")
    return rows[0][0], rows[0][1]


@dataclass(frozen=True)
class Kept:
    """Where a recording's original is kept: on this dock's disk, or in the replica bucket only
    (ingestd.replica.evict), since when and in which state of the move."""

    where: str  # "disk" | "bucket"
    state: EvictionState | None
    since: datetime | None
    head: str | None  # the object's version in the bucket, for one kept there only

    def as_dict(self, tz) -> dict:
        return {"where": self.where, "state": self.state.value if self.state else None,
                "since": self.since.astimezone(tz).isoformat() if self.since else None}


def kept(session: Session, rec_id: str) -> Kept:
    gone = session.get(Eviction, rec_id)
    if gone is None:
        return Kept("disk", None, None, None)
    return Kept("bucket", gone.state, gone.at, gone.head)


def require_local(session: Session, rec: Recording) -> None:
    """Before a deletion under retention: an original kept in the replica bucket only
    (ingestd.replica.evict) is brought back to the disk first, where the deletion is made."""
    gone = session.get(Eviction, rec.id)
    if gone is not None:
        raise UserError(f"recording {rec.id[:12]} is kept in the replica bucket only (since {gone.at:%Y-%m-%d}): "
                        f"bring it back with `ingestd store recall {rec.id}` first")
