"""What became of each file: the records the pipeline stages pass along and print."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ingestd.findings import CATALOGUE

STATUSES = ("ingested", "duplicate", "damaged", "skipped", "failed")


@dataclass(frozen=True)
class FileOutcome:
    path: str  # display-safe absolute source path
    rel_path: str
    status: str
    recording_id: str | None = None
    sha256: str | None = None
    size: int | None = None
    code: str | None = None  # finding code: why it was not simply ingested (or was, unchecked)
    reason: str | None = None

    def __post_init__(self) -> None:
        assert self.status in STATUSES, self.status
        assert self.code is None or self.code in CATALOGUE, self.code

    def as_dict(self) -> dict:
        out = {"path": self.path, "rel_path": self.rel_path, "status": self.status,
               "recording_id": self.recording_id, "sha256": self.sha256, "size": self.size}
        if self.status != "ingested" or self.code is not None:
            out["code"] = self.code
            out["reason"] = self.reason
        return out


@dataclass
class DockRun:
    session_id: str
    source: str
    profile: str
    device: str | None
    started_at: datetime
    finished_at: datetime | None = None
    outcomes: list[FileOutcome] = field(default_factory=list)
    bytes_ingested: int = 0
    device_source: str | None = None  # given | usb | file_names | folder_name
    released: bool = False  # every file recorded: the camera may go (else interrupted)

    @property
    def released_after_s(self) -> float | None:
        if not self.released or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    def counts(self) -> dict[str, int]:
        counts = {s: 0 for s in STATUSES}
        for o in self.outcomes:
            counts[o.status] += 1
        return counts

    def as_dict(self) -> dict:
        return {"dock_session": self.session_id, "source": self.source, "profile": self.profile,
                "device": self.device, "device_source": self.device_source,
                "status": "released" if self.released else "interrupted",
                "started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "released_after_s": self.released_after_s,
                "counts": self.counts(), "bytes_ingested": self.bytes_ingested}
