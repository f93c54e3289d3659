"""Camera-like clips made with ffmpeg's test sources, for the demo (`make run`), the tests
and the benchmarks. Nothing here is used on real evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import ffmpeg as ffmpeg_python

from ingestd.media import ffmpeg


@dataclass(frozen=True)
class ClipSpec:
    seconds: float = 2.0
    width: int = 320
    height: int = 240
    fps: int = 15
    codec: str = "libx264"  # or libx265
    audio: bool = True
    tone_hz: int = 440
    bitrate: str | None = None  # e.g. "8M" for camera-like files
    creation_time: datetime | None = None
    tone_from_s: float = 0.0  # silence before the tone starts (an officer starting to speak)
    silent_audio: bool = False  # an audio track with nothing on it
    pts_jump_at_s: float | None = None  # the camera stopped and resumed inside the file here…
    pts_jump_s: float = 0.0  # …for this long
    audio_rate: int = 16000
    audio_channels: int = 1
    noise_seed: int | None = None  # noise instead of a tone: no two audio frames alike
    chunk_s: float | None = None  # samples of a track written together, as cameras interleave


def clip_args(path: Path, spec: ClipSpec) -> list[str]:
    """The ffmpeg argument list for one clip (pure: nothing runs)."""
    video = ffmpeg_python.input(f"testsrc2=size={spec.width}x{spec.height}:rate={spec.fps}",
                                f="lavfi", t=spec.seconds)
    if spec.pts_jump_at_s is not None:
        video = video.filter("setpts", f"PTS+gte(T,{spec.pts_jump_at_s})*{spec.pts_jump_s}/TB")
    streams = [video]
    if spec.audio:
        # Commas inside a lavfi source's arguments must be escaped from the graph parser.
        tone = "0" if spec.silent_audio else f"gte(t\\,{spec.tone_from_s})*0.5*sin(2*PI*{spec.tone_hz}*t)"
        if spec.noise_seed is not None:
            source = (f"anoisesrc=seed={spec.noise_seed}:amplitude=0.3:sample_rate={spec.audio_rate}"
                      f":duration={spec.seconds}")
        else:
            source = f"aevalsrc={tone}:s={spec.audio_rate}:d={spec.seconds}"
        streams.append(ffmpeg_python.input(source, f="lavfi"))
    out = {"vcodec": spec.codec, "preset": "ultrafast", "pix_fmt": "yuv420p", "g": spec.fps * 2}
    if spec.bitrate:
        out.update({"b:v": spec.bitrate, "maxrate": spec.bitrate, "bufsize": spec.bitrate})
    if spec.audio:
        out.update({"acodec": "aac", "b:a": "64k" if spec.audio_channels == 1 else "128k", "ac": spec.audio_channels})
    if spec.chunk_s is not None:
        out["chunk_duration"] = int(spec.chunk_s * 1_000_000)
    if spec.creation_time is not None:
        out["metadata"] = f"creation_time={spec.creation_time.isoformat()}"
    if spec.pts_jump_at_s is not None:
        out["fps_mode"] = "passthrough"  # keep the jump: do not fill it with duplicated frames
    if spec.codec == "libx265":
        out.update({"tag:v": "hvc1", "x265-params": "log-level=error"})
    return ffmpeg_python.output(*streams, str(path), **out).global_args("-hide_banner", "-nostdin", "-y",
                                                                        "-loglevel", "error").compile()


def make_clip(path: Path, spec: ClipSpec = ClipSpec()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg.run(clip_args(path, spec), timeout_s=120 + spec.seconds * 5)
    return path


def make_camera_dump(root: Path, start: datetime, clips: int = 3, seconds: float = 3.0) -> list[Path]:
    """A folder like a camera's DCIM: consecutive clips named by their start time."""
    from datetime import timedelta

    made = []
    for i in range(clips):
        begins = start + timedelta(seconds=i * (seconds + 60))
        made.append(make_clip(root / "DCIM" / f"{begins:%Y%m%d_%H%M%S}.mp4",
                              ClipSpec(seconds=seconds, tone_hz=440 + 110 * i, creation_time=begins)))
    return made
