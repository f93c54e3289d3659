"""A unit's year of rows, inserted directly (no media, no ingest): officers, cameras, the
roster, a dock after each shift and its recordings. The synthetic year the benches measure
(bench/bench_compliance.py, bench/bench_web.py) and, small, the statement-count tests."""

from __future__ import annotations

import random
from datetime import date, datetime, time as dtime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from ingestd.app import App
from ingestd.db.models import Device, DockSession, Officer, Recording, RosterImport, Shift

TZ = ZoneInfo("Asia/Shanghai")
BATCH = 20_000


def populate(app: App, officers: int = 200, days: int = 365, clips_per_shift: int = 26,
             start_day: date = date(2025, 11, 1)) -> int:
    """Officers, their cameras, a roster of `days` from `start_day`, a dock after each shift
    and its recordings; returns how many recordings."""
    OFFICERS, DAYS, CLIPS_PER_SHIFT = officers, days, clips_per_shift  # noqa: N806 - the bench's names
    rng = random.Random(1)
    now = datetime.combine(start_day + timedelta(days=days), dtime(), tzinfo=TZ)
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
    return n_recs
