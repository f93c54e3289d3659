"""`make bench` (part 2): recompute compliance for a synthetic year of a 200-officer unit
(~1.5M recordings, ~73K shifts) on SQLite, then write that year's upload-compliance
report in every format; against a baseline measured in the same run: reading the same
rows with one plain SELECT.

The rows are inserted directly (tests/synthetic_year.py; the ingest path is measured by
bench_dock.py).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from ingestd.app import App, initialise
from ingestd.clock import FixedClock
from ingestd.compliance.recompute import recompute
from ingestd.compliance.report import ReportRequest, build_report
from ingestd.compliance.report_render import write_report
from ingestd.config import Settings
from ingestd.db.models import Recording

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.synthetic_year import populate  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
TZ = ZoneInfo("Asia/Shanghai")
OFFICERS = int(os.environ.get("BENCH_OFFICERS", "200"))
DAYS = int(os.environ.get("BENCH_DAYS", "365"))
CLIPS_PER_SHIFT = int(os.environ.get("BENCH_CLIPS", "26"))
BATCH = 20_000


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
        n = populate(app, OFFICERS, DAYS, CLIPS_PER_SHIFT)
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
