"""`make bench` (part 4): the console's server time on the synthetic year of a 200-officer unit
(the rows of bench_compliance.py, recomputed), through the real app in-process (no network):
recordings first page and a filtered page, a recording page, the dashboard, a month's report
page and a Range request into a proxy. The baseline, measured in the same run: a static file
from the same app (the cost of a request itself). Each figure is timed cold (page cache
dropped just before) and warm (median of the next runs).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from ingestd.app import App, initialise
from ingestd.clock import FixedClock
from ingestd.compliance.recompute import recompute
from ingestd.config import Settings
from ingestd.db.models import Recording
from ingestd.media.derivatives import derivative_dir
from ingestd.media.synthetic import ClipSpec, make_clip
from ingestd.users import add_user
from ingestd.web.server import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.synthetic_year import populate  # noqa: E402
from bench_compliance import OFFICERS  # noqa: E402
from bench_dock import drop_caches  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
TZ = ZoneInfo("Asia/Shanghai")
RUNS = int(os.environ.get("BENCH_WEB_RUNS", "15"))
PASSWORD = "bench console 1"


def timed(c: TestClient, path: str, headers: dict | None = None) -> tuple[float, list[float]]:
    """Cold (right after the page cache is dropped) and warm times of one GET, in ms."""
    drop_caches()
    times = []
    for _ in range(RUNS + 1):
        t = time.perf_counter()
        got = c.get(path, headers=headers or {})
        times.append((time.perf_counter() - t) * 1000)
        assert got.status_code in (200, 206), (path, got.status_code, got.text[:300])
    return times[0], times[1:]


def main() -> None:
    with bench_database() as database:
        run(database)


@contextmanager
def bench_database():
    """SQLite under the data directory, or with BENCH_DATABASE=postgres a database of its own
    on the machine's PostgreSQL (BENCH_PG), dropped afterwards."""
    if os.environ.get("BENCH_DATABASE", "sqlite") != "postgres":
        yield None
        return
    admin = create_engine(os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
                          isolation_level="AUTOCOMMIT")
    name = f"ingestd_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(database: str | None) -> None:
    backend = "postgres" if database else "sqlite"
    tmp = Path(tempfile.mkdtemp(prefix="ingestd-bench-w-", dir=os.environ.get("BENCH_DIR", "/var/tmp")))
    try:
        settings = Settings(data_dir=tmp / "var", policy="hengyang-forestry", ingest={"workers": 1},
                            database_url=database)
        initialise(settings)
        app = App.open(settings, FixedClock(datetime(2026, 11, 1, 9, tzinfo=TZ)))
        t = time.monotonic()
        n = populate(app, OFFICERS)
        recompute(app)
        if database:  # what autovacuum does soon after a load this size: the planner's statistics
            with app.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        print(f"synthetic year on {backend}: {OFFICERS} officers, {n} recordings (made and recomputed in "
              f"{time.monotonic() - t:.0f} s)", flush=True)
        add_user(app, "L1", "法制科", "legal", None, None, None, "admin", PASSWORD)
        add_user(app, "H1", "队长", "team_head", "3中队", None, None, "admin", PASSWORD)
        with app.db.reading() as s:
            rec_id = s.execute(select(Recording.id).order_by(Recording.start.desc()).offset(5000).limit(1)).scalar()
        proxy = derivative_dir(app, rec_id) / "proxy" / "proxy.mp4"
        make_clip(proxy, ClipSpec(seconds=60, width=1280, height=720))

        def signed_in(badge: str) -> TestClient:
            c = TestClient(create_app(app), follow_redirects=False)
            c.get("/login")
            c.post("/login", data={"badge": badge, "password": PASSWORD, "csrf_token": c.cookies.get("ingestd_login_csrf")})
            return c

        legal, head = signed_in("L1"), signed_in("H1")
        cases = [
            ("baseline: a static file", legal, "/static/console.css", None, None),
            ("recordings, first page", legal, "/recordings", None, 100),
            ("recordings, one officer in June", legal, "/recordings?officer=000007&since=2026-06-01&until=2026-06-30",
             None, 100),
            ("recordings, late uploads of a team", legal, "/recordings?team=3中队&upload_status=late", None, 100),
            ("a recording page", legal, f"/recordings/{rec_id}", None, 150),
            ("dashboard (法制科, the unit)", legal, "/", None, 300),
            ("dashboard (a team head)", head, "/", None, 300),
            ("report page, October, the unit", legal, "/report?start=2026-10-01&end=2026-10-31", None, 1500),
            ("Range request into a proxy (64 KiB)", legal, f"/recordings/{rec_id}/proxy.mp4",
             {"Range": "bytes=1000000-1065535"}, 20),
        ]
        results = []
        base = None
        print(f"  server time, in-process, {RUNS} warm runs each (median), cold = page cache dropped first:")
        for name, c, path, headers, target in cases:
            cold, warm = timed(c, path, headers)
            median = statistics.median(warm)
            base = base or median
            results.append({"page": name, "path": path, "cold_ms": round(cold, 1), "warm_ms": round(median, 1),
                            "ratio": round(median / base, 1), "target_ms": target})
            verdict = "" if target is None else ("  ok" if median <= target else "  OVER")
            print(f"    {name:40} cold {cold:8.1f} ms  warm {median:8.1f} ms  {median / base:7.1f}x"
                  + (f"  (target {target} ms){verdict}" if target else ""), flush=True)
        OUT.mkdir(exist_ok=True)
        (OUT / f"web-{backend}.json").write_text(json.dumps({"officers": OFFICERS, "recordings": n, "runs": RUNS,
                                                             "database": backend,
                                                   "results": results}, indent=2, ensure_ascii=False))
        app.close()
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
