"""Media facts for a stored file: ffprobe (with a time limit), pymediainfo, and a
structural check. A file that cannot be parsed is still stored byte for byte and marked
damaged with the reason (002 第16条); the probe never changes the file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ingestd.errors import ToolError
from ingestd.ingest.mp4box import looks_like_mp4, structure_problem
from ingestd.media import ffmpeg


@dataclass(frozen=True)
class ProbeResult:
    damaged: bool
    reason: str | None = None
    container: str | None = None
    duration_s: float | None = None
    creation_time: str | None = None  # as the container states it (ISO 8601)
    video: dict | None = None
    audio: dict | None = None
    mediainfo: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def probe(path: str, size: int, timeout_s: float) -> ProbeResult:
    if size == 0:
        return ProbeResult(damaged=True, reason="empty file (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if looks_like_mp4(head):
        problem = structure_problem(path, size)
        if problem:
            return ProbeResult(damaged=True, reason=problem)
    try:
        info = ffmpeg.ffprobe(path, timeout_s)
    except ToolError as exc:
        return ProbeResult(damaged=True, reason=f"ffprobe: {exc.stderr_tail or exc}")
    streams = info.get("streams") or []
    fmt = info.get("format") or {}
    if not streams:
        return ProbeResult(damaged=True, reason="no audio or video streams found")
    video = next(({"codec": s.get("codec_name"), "width": s.get("width"), "height": s.get("height"),
                   "fps": _rate(s.get("avg_frame_rate"))} for s in streams if s.get("codec_type") == "video"), None)
    audio = next(({"codec": s.get("codec_name"), "channels": s.get("channels"),
                   "sample_rate": _int(s.get("sample_rate"))} for s in streams if s.get("codec_type") == "audio"), None)
    return ProbeResult(
        damaged=False,
        container=fmt.get("format_name"),
        duration_s=_float(fmt.get("duration")),
        creation_time=(fmt.get("tags") or {}).get("creation_time"),
        video=video,
        audio=audio,
        mediainfo=_mediainfo(path),
    )


def _mediainfo(path: str) -> dict:
    """Facts ffprobe does not surface: the recorder's make/model and encoded date."""
    from pymediainfo import MediaInfo  # libmediainfo loads here, in the offload worker

    general = MediaInfo.parse(path).general_tracks
    if not general:
        return {}
    track = general[0]
    keys = ("format", "encoded_date", "tagged_date", "recorded_date", "comapplequicktimemake",
            "comapplequicktimemodel", "writing_application", "duration")
    return {k: getattr(track, k) for k in keys if getattr(track, k, None) is not None}


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _rate(value: str | None) -> float | None:
    if not value or "/" not in value:
        return None
    num, den = value.split("/", 1)
    try:
        return round(int(num) / int(den), 3) if int(den) else None
    except ValueError:
        return None
