"""The structural check on the dock path: is the copy a whole recording? The MP4 box walk
(a box that claims more bytes than the file has, no `moov`) and FFmpeg's demuxer opened
in-process (PyAV) for what the walk cannot see. A file that fails is still stored byte
for byte and marked damaged with the reason (002 第16条); the check never changes it.

The full probe (mediainfo, packet timestamps for the gap scan) is after-dock work."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ingestd.avfacts import MediaUnreadable, container_facts
from ingestd.ingest.mp4box import looks_like_mp4, structure_problem


@dataclass(frozen=True)
class ProbeResult:
    damaged: bool
    reason: str | None = None
    check_failed: bool = False  # the check itself failed: nothing is known of the file yet
    container: str | None = None
    duration_s: float | None = None
    creation_time: str | None = None  # as the container states it (ISO 8601)
    video: dict | None = None
    audio: dict | None = None
    mediainfo: dict = field(default_factory=dict)  # filled by the after-dock probe

    def as_dict(self) -> dict:
        return asdict(self)


def probe(path: str, size: int) -> ProbeResult:
    if size == 0:
        return ProbeResult(damaged=True, reason="empty file (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(16)
    indexed = looks_like_mp4(head)
    if indexed:
        problem = structure_problem(path, size)
        if problem:
            return ProbeResult(damaged=True, reason=problem)
    try:
        facts = container_facts(path, indexed)
    except MediaUnreadable as exc:
        return ProbeResult(damaged=True, reason=f"demuxer: {exc}")
    if facts.video is None and facts.audio is None:
        return ProbeResult(damaged=True, reason="no audio or video streams found")
    return ProbeResult(damaged=False, container=facts.container, duration_s=facts.duration_s,
                       creation_time=facts.creation_time, video=facts.video, audio=facts.audio)
