"""What a healthy recording of the same camera says about how it writes: the video codec
and its configuration record, the NAL length prefix, the frame duration, the audio's AAC
configuration, and how large its samples run (bounds for the walk)."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from fractions import Fraction

import av

from ingestd.errors import IngestdError
from ingestd.media.recovery.nal import VideoCodec, length_size_of

SAMPLED_PACKETS = 600  # enough to know the sample sizes; a reference is not read whole
MIN_NAL_BOUND = 1 << 20
MAX_NAL_BOUND = (1 << 24) - 1  # a 16 MiB picture is no camera's


class ReferenceUnusable(IngestdError):
    """The chosen reference recording cannot guide a recovery (not H.264/H.265 in MP4, no
    configuration record, unreadable)."""


@dataclass(frozen=True, kw_only=True)
class Reference:
    path: str
    codec: VideoCodec
    extradata: bytes
    length_size: int
    width: int
    height: int
    time_base: Fraction  # of the video stream
    frame_ticks: int  # one frame's duration in time_base
    max_nal: int  # the largest NAL unit the walk believes
    byte_rate: float  # bytes per second of the whole recording: the length of a skipped stretch
    audio_extradata: bytes | None
    audio_rate: int | None
    audio_channels: int


def read_reference(path: str) -> Reference:
    try:
        with av.open(path) as container:
            return _read(path, container)
    except av.error.FFmpegError as exc:
        raise ReferenceUnusable(f"reference {path}: cannot be read ({exc})") from None


def _read(path: str, container) -> Reference:
    if not container.streams.video:
        raise ReferenceUnusable(f"reference {path}: no video track")
    video = container.streams.video[0]
    name = video.codec_context.name
    if name not in (VideoCodec.H264, VideoCodec.HEVC):
        raise ReferenceUnusable(f"reference {path}: video is {name}, recovery knows H.264 and H.265")
    codec = VideoCodec(name)
    extradata = bytes(video.codec_context.extradata or b"")
    try:
        length_size = length_size_of(codec, extradata)
    except ValueError as exc:
        raise ReferenceUnusable(f"reference {path}: {exc}") from None
    audio = next((a for a in container.streams.audio if a.codec_context.name == "aac"), None)
    durations, largest = [], 0
    for i, packet in enumerate(container.demux(video)):
        if i >= SAMPLED_PACKETS:
            break
        if packet.size:
            largest = max(largest, packet.size)
            if packet.duration:
                durations.append(packet.duration)
    if not durations:
        raise ReferenceUnusable(f"reference {path}: no video samples with a duration")
    seconds = float(container.duration / av.time_base) if container.duration else None
    size = os.path.getsize(path)
    return Reference(
        path=path, codec=codec, extradata=extradata, length_size=length_size,
        width=video.codec_context.width, height=video.codec_context.height,
        time_base=Fraction(video.time_base), frame_ticks=int(statistics.median(durations)),
        max_nal=min(max(4 * largest, MIN_NAL_BOUND), MAX_NAL_BOUND),
        byte_rate=(size / seconds) if size and seconds else 0.0,
        audio_extradata=bytes(audio.codec_context.extradata) if audio is not None and audio.codec_context.extradata else None,
        audio_rate=audio.codec_context.sample_rate if audio is not None else None,
        audio_channels=audio.codec_context.channels if audio is not None else 0)
