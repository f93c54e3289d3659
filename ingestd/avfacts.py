"""The one wrapper for PyAV (FFmpeg's libraries in-process): a container's facts, and the
timestamps of its video packets. In-process, because a process per file (ffprobe) cost
75-95 ms a file where opening the container costs about a millisecond.

Probing is bounded (probesize, analyzeduration) so a hostile header cannot make it read
the whole file; a file FFmpeg cannot open raises MediaUnreadable with FFmpeg's reason."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av

from ingestd.errors import IngestdError

PROBE_OPTIONS = {"probesize": "5000000", "analyzeduration": "5000000"}
# An MP4/MOV whose boxes were walked states its streams in its `moov`: nothing to sniff.
# (0.3 ms to open instead of 2 ms, most of which went to decoding frames to learn what
# the index already says.)
INDEXED_OPTIONS = {"probesize": "32", "analyzeduration": "0"}
JUMP_FLOOR_S = 0.1  # a step this much over the usual frame interval is kept for the gap scan


class MediaUnreadable(IngestdError):
    """FFmpeg could not open or demux the file (it is stored all the same)."""


@dataclass(frozen=True)
class ContainerFacts:
    container: str | None
    duration_s: float | None
    creation_time: str | None  # as the container states it
    video: dict | None
    audio: dict | None


def _open(path: str, indexed: bool = False):
    try:
        return av.open(path, options=INDEXED_OPTIONS if indexed else PROBE_OPTIONS, metadata_errors="replace")
    except (av.FFmpegError, ValueError, TypeError, OverflowError) as exc:
        raise MediaUnreadable(_reason(exc)) from None


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "strerror", None) or exc).splitlines()[0][:300]


def container_facts(path: str, indexed: bool = False) -> ContainerFacts:
    """`indexed`: the file is an MP4/MOV whose box structure is known to be whole. A file
    whose streams FFmpeg opens but cannot describe (no codec it knows, absurd values) is
    unreadable too: a hostile file is stored and marked, never a crash of the dock."""
    with _open(path, indexed) as container:
        try:
            video = next(({"codec": _codec(s), "width": s.codec_context.width or None,
                           "height": s.codec_context.height or None, "fps": _rate(s.average_rate)}
                          for s in container.streams.video), None)
            audio = next(({"codec": _codec(s), "channels": s.codec_context.channels or None,
                           "sample_rate": s.codec_context.sample_rate or None}
                          for s in container.streams.audio), None)
            duration = container.duration / av.time_base if container.duration is not None else None
        except (AttributeError, ValueError, TypeError, OverflowError, ZeroDivisionError, av.FFmpegError) as exc:
            raise MediaUnreadable(f"streams cannot be described ({type(exc).__name__}: {exc})"[:300]) from None
        return ContainerFacts(container.format.name, duration, container.metadata.get("creation_time"),
                              video, audio)


def _codec(stream) -> str:
    if stream.codec_context is None:
        raise ValueError(f"stream {stream.index} has no codec FFmpeg knows")
    return stream.codec_context.name


@dataclass(frozen=True)
class PacketScan:
    packets: int
    usual_step_s: float | None  # the median interval between video packets
    jumps: list[tuple[float, float]]  # (pts before, pts after) where the timestamps leap

    def as_dict(self) -> dict:
        return {"packets": self.packets, "usual_step_s": self.usual_step_s, "jumps": [list(j) for j in self.jumps]}


def packet_scan(path: str) -> PacketScan:
    """Video packet timestamps, demuxed without decoding: where they jump, the camera
    stopped and resumed inside the file."""
    with _open(path) as container:
        if not container.streams.video:
            return PacketScan(0, None, [])
        stream = container.streams.video[0]
        base = stream.time_base
        pts = []
        try:
            for packet in container.demux(stream):
                if packet.pts is not None:
                    pts.append(float(packet.pts * base))
        except (av.FFmpegError, ValueError, TypeError, OverflowError, ZeroDivisionError) as exc:
            raise MediaUnreadable(f"demux stopped after {len(pts)} packets: {_reason(exc)}") from None
    return scan_timestamps(pts)


def scan_timestamps(pts: list[float]) -> PacketScan:
    pts = sorted(pts)
    if len(pts) < 3:
        return PacketScan(len(pts), None, [])
    steps = sorted(b - a for a, b in zip(pts, pts[1:]))
    usual = steps[len(steps) // 2]
    jumps = [(round(a, 6), round(b, 6)) for a, b in zip(pts, pts[1:]) if b - a > usual + JUMP_FLOOR_S]
    return PacketScan(len(pts), round(usual, 6), jumps)


def _rate(value: Fraction | None) -> float | None:
    return round(float(value), 3) if value else None
