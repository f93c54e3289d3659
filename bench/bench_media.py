"""`make bench` (part 3): proxy transcode and HLS segmentation speed as multiples of real
time, for a 1080p30 8 Mbps H.264 clip of 60 s, and the capacity that gives."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from ingestd.media import commands
from ingestd.media.synthetic import ClipSpec, make_clip
from ingestd.toolrun import run

OUT = Path(__file__).resolve().parent / "out"
SECONDS = float(os.environ.get("BENCH_CLIP_S", "60"))


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ingestd-bench-m-", dir=os.environ.get("BENCH_DIR", "/var/tmp")))
    try:
        clip = make_clip(tmp / "clip.mp4", ClipSpec(seconds=SECONDS, width=1920, height=1080, fps=30, bitrate="8M"))
        results = {}
        t = time.monotonic()
        run(commands.proxy_args(clip, tmp / "proxy.mp4", has_audio=True), 3600, nice=True)
        results["proxy_x_realtime"] = round(SECONDS / (time.monotonic() - t), 1)
        (tmp / "hls").mkdir()
        t = time.monotonic()
        run(commands.hls_args(clip, tmp / "hls"), 3600, nice=True)
        results["hls_x_realtime"] = round(SECONDS / (time.monotonic() - t), 1)
        # One media worker running all day keeps up with this many hours of footage a day.
        results["proxy_hours_per_day"] = round(24 * results["proxy_x_realtime"], 0)
        print(f"1080p30 8 Mbps, {SECONDS:.0f} s: proxy {results['proxy_x_realtime']}x real time (target >= 5x), "
              f"HLS segmentation {results['hls_x_realtime']}x (target >= 100x); one worker keeps up with "
              f"{results['proxy_hours_per_day']:.0f} h of footage a day")
        OUT.mkdir(exist_ok=True)
        (OUT / "media.json").write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
