"""One recovery: a damaged original, a reference, an output path → what was recovered."""

from __future__ import annotations

import mmap
import os
import time
from dataclasses import asdict, dataclass

from ingestd.errors import IngestdError
from ingestd.media.recovery.mdat import find_mdat
from ingestd.media.recovery.mux import write
from ingestd.media.recovery.reference import read_reference
from ingestd.media.recovery.walk import Stop, Walker


class RecoveryOverTime(IngestdError):
    """The recovery ran past its time limit (a hostile file, or a far too slow machine)."""


@dataclass(frozen=True, kw_only=True)
class Recovered:
    reference: str
    mdat_bytes: int  # what the damaged file's mdat holds
    used_bytes: int  # taken into the recovered file
    skipped_bytes: int  # neither video nor audio, or pictures that could not be shown
    cut_bytes: int  # the unfinished sample the file ends inside
    video_frames: int
    audio_frames: int
    video_s: float
    audio_s: float
    span_s: float  # first sample to last, skipped stretches included
    undecodable: int
    stop: Stop

    @property
    def anything(self) -> bool:
        return self.video_frames > 0

    def as_dict(self) -> dict:
        return {**asdict(self), "stop": self.stop.value}


def recover(damaged: str, reference: str, out: str, limit_s: float = 600.0) -> Recovered:
    """Writes `out` when anything was found; raises RecoveryOverTime past `limit_s`."""
    deadline = time.monotonic() + limit_s
    calls = [0]

    def tick() -> None:
        calls[0] += 1
        if calls[0] % 64 == 0 and time.monotonic() > deadline:
            raise RecoveryOverTime(f"{damaged}: recovery ran past {limit_s:.0f}s")

    ref = read_reference(reference)
    size = os.path.getsize(damaged)
    with open(damaged, "rb") as fh:
        if size == 0:
            return _nothing(reference, 0)
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            region = find_mdat(data, size)
            if region is None:
                return _nothing(reference, 0)
            walked = Walker(data, ref, tick).walk(*region)
            if not any(s.track == "video" for s in walked.samples):
                return _nothing(reference, region[1] - region[0], walked.stop, walked.skipped_bytes)
            muxed = write(data, walked, ref, out, tick)
    if muxed.video_frames == 0 and os.path.exists(out):
        os.unlink(out)
    return Recovered(reference=reference, mdat_bytes=region[1] - region[0],
                     used_bytes=sum(s.size for s in walked.samples), skipped_bytes=walked.skipped_bytes,
                     cut_bytes=walked.cut_bytes,
                     video_frames=muxed.video_frames, audio_frames=muxed.audio_frames, video_s=muxed.video_s,
                     audio_s=muxed.audio_s, span_s=muxed.span_s, undecodable=muxed.undecodable, stop=walked.stop)


def _nothing(reference: str, mdat_bytes: int, stop: Stop = Stop.UNREADABLE_TAIL, skipped: int = 0) -> Recovered:
    return Recovered(reference=reference, mdat_bytes=mdat_bytes, used_bytes=0, skipped_bytes=skipped, cut_bytes=0,
                     video_frames=0, audio_frames=0, video_s=0.0, audio_s=0.0, span_s=0.0, undecodable=0, stop=stop)
