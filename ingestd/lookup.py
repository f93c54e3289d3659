"""Finding a recording from what a person types: its id or a unique prefix of 8+ digits, or
(for 法制科 linking a case's recordings) the file name the camera gave it or the time it was
made."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingestd.db.models import RECORDING_MADE, Device, Eviction, Recording
from ingestd.db.states import EvictionState, RecordingStatus
from ingestd.errors import StoreError, UserError
from ingestd.findings import refused

HEX_ID = re.compile(r"[0-9a-fA-F]{8,64}")
NAMED_AT = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})")


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


def recordings_named(session: Session, lines: list[str], tz: ZoneInfo) -> list[str]:
    """The recordings a person names, one a line: by id (8 or more hex digits), by the local
    time it was made (`2026-11-20 08:30`: the recordings running in that minute), or by the
    file name the camera wrote, optionally after the camera's serial (`CAM-1 20261120_083000.mp4`)
    when two cameras wrote the same name. A line naming none, or several without a way to tell
    them apart, is refused in words naming the line."""
    ids: list[str] = []
    for line in (raw.strip() for raw in lines):
        if not line:
            continue
        if HEX_ID.fullmatch(line):
            ids.append(find_recording(session, line)[0].id)
            continue
        q = (select(Recording.id, Device.serial, Recording.original_name, RECORDING_MADE)
             .outerjoin(Device, Device.id == Recording.device_id)
             .where(Recording.status != RecordingStatus.DELETED, Recording.kind != "sidecar"))
        at = NAMED_AT.fullmatch(line)
        if at:
            start = datetime.fromisoformat(f"{at.group(1)} {at.group(2).zfill(5)}").replace(tzinfo=tz)
            made_end = func.coalesce(Recording.end_corrected, Recording.end, RECORDING_MADE)
            q = q.where(RECORDING_MADE < start + timedelta(minutes=1), made_end >= start)
        else:
            serial, _, name = line.rpartition(" ")
            q = q.where(Recording.original_name == name, *([Device.serial == serial.strip()] if serial else []))
        found = session.execute(q.order_by(RECORDING_MADE).limit(6)).all()
        if not found:
            raise refused("recording_not_named", what=line[:80])
        if len(found) > 1 and not at:
            raise refused("recording_named_twice", what=line[:80], n=len(found),
                          which="；".join(f"{serial or '?'} {name}" for _id, serial, name, _made in found[:5]))
        ids += [rid for rid, *_rest in found]
    return list(dict.fromkeys(ids))
