"""Driver for `make bench`: dock several cameras at once through the daemon's own pool, as
`ingestd run` does when they are plugged in together, and print how long it took from
the first dock's start to the last camera's release. Args: CAMERA_DIR..."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from ingestd.app import App
from ingestd.config import load_settings
from ingestd.daemon import Daemon
from ingestd.db.models import DockSession


def main(cameras: list[Path]) -> None:
    app = App.open(load_settings())
    daemon = Daemon(app)
    app.open_staging()  # before the dock threads start, as run() does
    for cam in cameras:
        daemon.submit(cam.resolve(), cam.name, sorted(str(p.resolve()) for p in cam.rglob("*") if p.is_file()))
    while daemon.inflight:
        time.sleep(0.05)
    daemon.pool.shutdown(wait=True)
    daemon.offloader.close()
    with app.db.reading() as s:
        first, last, released = s.execute(select(func.min(DockSession.started_at), func.max(DockSession.released_at),
                                                 func.count(DockSession.released_at))).one()
    app.close()
    print(json.dumps({"released_s": round((last - first).total_seconds(), 3), "sessions_released": released}))


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]])
