"""`make bench` (part 2): recompute compliance for a synthetic year of a 200-officer unit
(~1.5M recordings, ~73K shifts) on SQLite, then write that year's upload-compliance
report in every format; against a baseline measured in the same run: reading the same
rows with one plain SELECT.

The rows are inserted directly (the ingest path is measured by bench_ingest.py).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import time
from datetime import date, datetime, time as dtime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text

from ingestd.app import App, initialise
from ingestd.clock import FixedClock
from ingestd.compliance.recompute import recompute
from ingestd.compliance.report import ReportRequest, build_report
from ingestd.compliance.report_render import write_report
from ingestd.config import Settings
from ingestd.db.models import Device, DockSession, Officer, Recording, RosterImport, Shift

OUT = Path(__file__).resolve().parent / "out"
TZ = ZoneInfo("Asia/Shanghai")
OFFICERS = int(os.environ.get("BENCH_OFFICERS", "200"))
DAYS = int(os.environ.get("BENCH_DAYS", "365"))
CLIPS_PER_SHIFT = int(os.environ.get("BENCH_CLIPS", "26"))
BATCH = 20_000


def populate(app: App) -> tuple[int, int]:
    rng = random.Random(1)
    start_day = date(2025, 11, 1)
    now = datetime(2026, 11, 1, tzinfo=TZ)
    eng = app.db.engine
    with eng.begin() as c:
        c.execute(insert(Officer), [{"badge": f"{i:06d}", "name": f"警员{i}", "cert_no": None,
                                     "team": f"{i % 10 + 1}中队", "updated_at": now} for i in range(OFFICERS)])
        c.execute(insert(Device), [{"id": i + 1, "serial": f"CAM{i:04d}", "model": None, "profile": "generic",
                                    "owner_badge": f"{i:06d}", "first_seen": now, "last_seen": now}
                                   for i in range(OFFICERS)])
        c.execute(insert(RosterImport), [{"id": 1, "file_name": "year.xlsx", "sha256": "0" * 64,
                                          "period_start": start_day, "period_end": start_day + timedelta(DAYS - 1),
                                          "teams": [], "rows": 0, "imported_at": now, "imported_by": "bench"}])
    shifts, sessions, recs = [], [], []
    n_recs = 0
    assignments = ["regular"] * 17 + ["continuous", "offsite", "remote"]
    for d in range(DAYS):
        day = start_day + timedelta(days=d)
        for i in range(OFFICERS):
            if rng.random() < 0.2:
                continue  # days off
            s_start = datetime.combine(day, dtime(8), tzinfo=TZ)
            s_end = s_start + timedelta(hours=10)
            kind = rng.choice(assignments)
            returned = s_end + timedelta(hours=rng.randint(12, 60)) if kind != "regular" else None
            shifts.append({"import_id": 1, "day": day, "badge": f"{i:06d}", "team": f"{i % 10 + 1}中队",
                           "shift_start": s_start, "shift_end": s_end, "assignment": kind, "returned_at": returned,
                           "camera": f"CAM{i:04d}", "status": "pending"})
            dock_at = s_end + timedelta(hours=rng.choice([1, 2, 3, 20, 30, 50, 80, 150]))
            sid = f"{d:04d}{i:04d}".ljust(32, "0")
            sessions.append({"id": sid, "dock": "bench", "device_id": i + 1, "source_path": "/media/cam",
                             "profile": "generic", "started_at": dock_at, "finished_at": dock_at, "status": "finished",
                             "files_seen": CLIPS_PER_SHIFT, "files_ingested": CLIPS_PER_SHIFT, "files_duplicate": 0,
                             "files_damaged": 0, "files_skipped": 0, "files_failed": 0, "bytes_ingested": 0})
            for k in range(CLIPS_PER_SHIFT):
                r_start = s_start + timedelta(minutes=k * 29)
                n_recs += 1
                recs.append({"id": f"{n_recs:064x}", "sm3": "0" * 64, "size": 1, "object_id": f"urn:ingestd:rec:{n_recs:064x}",
                             "content_name": "a.mp4", "original_name": "a.mp4", "source_path": "a.mp4",
                             "device_id": i + 1, "dock_session_id": sid, "badge": None, "important": False,
                             "start": r_start, "end": r_start + timedelta(minutes=28), "duration_s": 1680.0,
                             "time_source": "filename", "status": "ok", "damage_reason": None, "name_conflict": False,
                             "probe": {}, "ingested_at": dock_at})
        if len(recs) >= BATCH or d == DAYS - 1:
            with eng.begin() as c:
                c.execute(insert(Shift), shifts)
                c.execute(insert(DockSession), sessions)
                c.execute(insert(Recording), recs)
            shifts, sessions, recs = [], [], []
    return n_recs, sum(1 for _ in [0])


def bench_report(app: App, tmp: Path, scan: float) -> dict:
    """The whole year's report for the unit, model and each rendering, against the scan."""
    first = date(2025, 11, 1)
    last = first + timedelta(DAYS - 1)
    times = {}
    t = time.monotonic()
    model = build_report(app, ReportRequest(first, last))
    times["model"] = round(time.monotonic() - t, 2)
    for fmt in ("json", "html", "xlsx", "csv", "pdf"):
        t = time.monotonic()
        write_report(model, fmt, tmp / f"report.{fmt}")
        times[fmt] = round(times["model"] + time.monotonic() - t, 2)
    print(f"  report for the year ({model.unit.recordings} recordings, {len(model.officers)} officers):")
    for fmt in ("json", "html", "xlsx", "csv", "pdf"):
        size = (tmp / f"report.{fmt}").stat().st_size
        print(f"    {fmt:5} {times[fmt]:6.2f} s  ({times[fmt] / scan:.2f}x the scan, {size / 1e6:.1f} MB)", flush=True)
    return times


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ingestd-bench-c-", dir=os.environ.get("BENCH_DIR", "/var/tmp")))
    try:
        settings = Settings(data_dir=tmp / "var", policy="hengyang-forestry", ingest={"workers": 1})
        initialise(settings)
        app = App.open(settings, FixedClock(datetime(2026, 11, 1, tzinfo=TZ)))
        t = time.monotonic()
        n, _ = populate(app)
        print(f"synthetic year: {OFFICERS} officers, {DAYS} days, {n} recordings "
              f"(inserted in {time.monotonic() - t:.1f} s)", flush=True)
        with app.db.reading() as s:
            shifts = s.execute(text("select count(*) from shifts")).scalar()
            t = time.monotonic()
            rows = sum(1 for _ in s.execute(select(Recording.id, Recording.device_id, Recording.start,
                                                   Recording.end, Recording.ingested_at)
                                            .execution_options(yield_per=20_000)))
            scan = time.monotonic() - t
        print(f"  baseline: SELECT of the {rows} rows it reads        {scan:7.1f} s", flush=True)
        t = time.monotonic()
        result = recompute(app)
        wall = time.monotonic() - t
        print(f"  recompute all recordings and {shifts} shifts   {wall:7.1f} s "
              f"({result.as_dict()['recordings'] / wall:,.0f} recordings/s, {wall / scan:.1f}x the scan)")
        print(f"  statuses: {result.as_dict()['upload_status']}; shifts {result.as_dict()['shift_status']}")
        report_times = bench_report(app, tmp, scan)
        OUT.mkdir(exist_ok=True)
        (OUT / "compliance.json").write_text(json.dumps({
            "officers": OFFICERS, "days": DAYS, "recordings": n, "shifts": shifts, "scan_s": round(scan, 1),
            "recompute_s": round(wall, 1), "result": result.as_dict(), "report_s": report_times}, indent=2))
        app.close()
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
