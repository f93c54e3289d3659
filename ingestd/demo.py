"""`python -m ingestd.demo DIR`: a small demo camera dump (three clips, one cut off by
"power loss") for trying ingestd out. Made with ffmpeg test sources, never real footage."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ingestd.media.synthetic import make_camera_dump


def main(target: Path) -> None:
    if target.is_dir() and any(target.rglob("*.mp4")):
        print(f"demo camera dump already in {target}")
        return
    start = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(hours=3)).replace(microsecond=0)
    clips = make_camera_dump(target, start, clips=3, seconds=4)
    cut = clips[-1].with_name(clips[-1].stem + "_cut.mp4")
    data = clips[-1].read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    print(f"demo camera dump: {len(clips) + 1} files in {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "var/demo-camera"))
