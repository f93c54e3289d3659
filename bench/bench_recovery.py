"""`make bench` (recovery): recovering a camera file whose battery died, against a plain read
of the same damaged file in the same run (the page cache dropped before each timed step).
A 1080p30 8 Mbps clip of 60 s with stereo AAC, written in half-second chunks with the `moov`
at the end as cameras write it, cut at two thirds; H.264 and H.265. The recovery runs as
the after-dock job runs it: its own process, through ingestd.toolrun."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dock import drop_caches  # noqa: E402

from ingestd.media.synthetic import ClipSpec, make_clip  # noqa: E402
from ingestd.toolrun import run  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
SECONDS = float(os.environ.get("BENCH_CLIP_S", "60"))
READ_CHUNK = 1 << 20


def _spec(codec: str, seconds: float, seed: int) -> ClipSpec:
    return ClipSpec(seconds=seconds, width=1920, height=1080, fps=30, codec=codec, bitrate="8M", audio_rate=48000,
                    audio_channels=2, noise_seed=seed, chunk_s=0.5)


def _plain_read(path: Path) -> float:
    drop_caches()
    t = time.monotonic()
    with open(path, "rb") as fh:
        while fh.read(READ_CHUNK):
            pass
    return time.monotonic() - t


def _recover(damaged: Path, reference: Path, out: Path) -> tuple[float, dict]:
    drop_caches()
    t = time.monotonic()
    done = run([sys.executable, "-m", "ingestd.media.recovery", str(damaged), str(reference), str(out)], 3600,
               nice=True)
    return time.monotonic() - t, json.loads(done.stdout)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ingestd-bench-r-", dir=os.environ.get("BENCH_DIR", "/var/tmp")))
    results = {}
    try:
        for name, codec in (("h264", "libx264"), ("hevc", "libx265")):
            whole = make_clip(tmp / f"{name}.mp4", _spec(codec, SECONDS, 7))
            reference = make_clip(tmp / f"{name}-ref.mp4", _spec(codec, 5, 11))
            data = whole.read_bytes()
            damaged = tmp / f"{name}-cut.mp4"
            damaged.write_bytes(data[: len(data) * 2 // 3])
            del data
            read_s = _plain_read(damaged)
            recover_s, facts = _recover(damaged, reference, tmp / f"{name}-recovered.mp4")
            mb = damaged.stat().st_size / 1e6
            results[name] = {"damaged_mb": round(mb, 1), "plain_read_s": round(read_s, 3),
                             "recovery_s": round(recover_s, 2), "ratio": round(recover_s / read_s, 1),
                             "recovered_s": round(facts["video_s"], 1),
                             "x_realtime": round(facts["video_s"] / recover_s, 1),
                             "video_frames": facts["video_frames"], "audio_frames": facts["audio_frames"]}
            r = results[name]
            print(f"recovery, 1080p30 8 Mbps {name} + AAC, {SECONDS:.0f} s cut at 2/3 ({r['damaged_mb']} MB): "
                  f"plain read {r['plain_read_s']} s, recovery {r['recovery_s']} s = {r['ratio']}x the read; "
                  f"{r['recovered_s']} s recovered ({r['video_frames']} pictures, {r['audio_frames']} AAC frames), "
                  f"{r['x_realtime']}x real time", flush=True)
        OUT.mkdir(exist_ok=True)
        (OUT / "recovery.json").write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
