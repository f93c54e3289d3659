"""Driver for `make bench`: dock several cameras at once through the daemon's own pool,
as `ingestd run` does when they are plugged in together. Args: DATA_DIR CAMERA_DIR..."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ingestd.app import App
from ingestd.config import load_settings
from ingestd.daemon import Daemon


def main(cameras: list[Path]) -> None:
    app = App.open(load_settings())
    daemon = Daemon(app)
    app.staging  # noqa: B018 - opened before the dock threads start, as run() does
    for cam in cameras:
        daemon.submit(cam.resolve(), cam.name, sorted(str(p.resolve()) for p in cam.rglob("*") if p.is_file()))
    while daemon.inflight:
        time.sleep(0.1)
    daemon.pool.shutdown(wait=True)
    daemon.offloader.__exit__(None, None, None)
    app.close()


def main_args() -> None:
    main([Path(p) for p in sys.argv[1:]])


if __name__ == "__main__":
    main_args()
