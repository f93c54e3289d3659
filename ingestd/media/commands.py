"""ffmpeg argument lists for the derivatives, built with ffmpeg-python by pure functions
(tested without running ffmpeg). All run at idle priority through ingestd.toolrun."""

from __future__ import annotations

from pathlib import Path

import ffmpeg as ffmpeg_python

PROXY_MAX_HEIGHT = 720
SEGMENT_S = 6
COPYABLE = {"h264", "hevc"}  # codecs fMP4 HLS carries by stream copy


def _global(stream) -> list[str]:
    return stream.global_args("-hide_banner", "-nostdin", "-y", "-loglevel", "error").compile()


def proxy_args(original: Path, out: Path, has_audio: bool) -> list[str]:
    """H.264/AAC MP4, at most 720p, +faststart: plays and seeks in any browser."""
    src = ffmpeg_python.input(str(original))
    video = src.video.filter("scale", -2, f"min({PROXY_MAX_HEIGHT},ih)", flags="fast_bilinear")
    streams = [video, src.audio] if has_audio else [video]
    # ultrafast + fast_bilinear: ~5x real time on two cores for 1080p (veryfast managed 2.4x);
    # the 2 Mbit/s cap keeps the proxy small enough for the LAN all the same.
    out_opts = {"vcodec": "libx264", "preset": "ultrafast", "crf": 26, "maxrate": "2M", "bufsize": "4M",
                "pix_fmt": "yuv420p", "movflags": "+faststart"}
    if has_audio:
        out_opts.update({"acodec": "aac", "b:a": "96k", "ac": 1})
    return _global(ffmpeg_python.output(*streams, str(out), **out_opts))


def hls_args(source: Path, out_dir: Path) -> list[str]:
    """fMP4 segments of about SEGMENT_S seconds, cut by stream copy (no re-encoding)."""
    src = ffmpeg_python.input(str(source))
    return _global(ffmpeg_python.output(
        src, str(out_dir / "index.m3u8"), c="copy", f="hls", hls_time=SEGMENT_S, hls_segment_type="fmp4",
        hls_playlist_type="vod", hls_fmp4_init_filename="init.mp4",
        hls_segment_filename=str(out_dir / "seg_%05d.m4s")))


def poster_args(source: Path, out: Path, at_s: float) -> list[str]:
    src = ffmpeg_python.input(str(source), ss=f"{at_s:.3f}")
    return _global(ffmpeg_python.output(src.video.filter("scale", 480, -2), str(out), vframes=1))


def contact_sheet_args(source: Path, out: Path, duration_s: float, tiles: int = 4) -> list[str]:
    every = max(duration_s / (tiles * tiles), 0.04)
    src = ffmpeg_python.input(str(source))
    video = src.video.filter("fps", f"1/{every:.3f}").filter("scale", 240, -2).filter("tile", f"{tiles}x{tiles}")
    return _global(ffmpeg_python.output(video, str(out), vframes=1))
