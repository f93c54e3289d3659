"""How long the dock's disk lasts: from the last 30 days' intake, the days until the store's
filesystem reaches its reserve (`ingestd store status`, the dashboard, /healthz, /metrics,
and an alert to the admins at [store] warn_days, an urgent one at 7).

With a replica, originals older than [store] keep_local_days leave the disk (ingestd.replica.
evict), so the disk holds a window: when the window's worth of intake fits below the free
target there is no date to give (`steady`); when it does not, the originals past the window
count as room, and the days are those the rest lasts. Without a replica nothing leaves and
the forecast says so."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ingestd.app import App
from ingestd.db.models import DockSession, Eviction, Recording
from ingestd.db.states import RecordingStatus
from ingestd.findings import Finding

WINDOW = timedelta(days=30)
FRESH_S = 300.0
_recent: dict[int, tuple[App, float, "StoreForecast"]] = {}
_lock = threading.Lock()
URGENT_DAYS = 7
GB = 1e9


@dataclass(frozen=True)
class StoreForecast:
    path: str
    total_bytes: int
    free_bytes: int
    reserve_bytes: int
    local_recordings: int
    local_bytes: int
    bucket_recordings: int  # originals only the bucket holds now
    bucket_bytes: int
    past_window_bytes: int  # local originals older than keep_local_days: room once they leave
    per_day_bytes: int  # the last 30 days' intake, a day
    eviction: bool  # a replica is on: originals past the window leave the disk
    keep_local_days: int
    steady: bool  # the window fits: the disk does not fill at this intake
    days_to_reserve: float | None  # None: steady, or no intake

    def finding(self, warn_days: int) -> Finding | None:
        if self.days_to_reserve is None or self.days_to_reserve > warn_days:
            return None
        if self.eviction:
            why = (f"the {self.keep_local_days}-day window of originals does not fit on the disk",
                   f"本地保留 {self.keep_local_days} 天的原始文件在磁盘上放不下")
        else:
            why = ("no replica is configured: nothing leaves the disk", "未配置副本存储，原始文件不会移出本地磁盘")
        code = "store_filling_urgent" if self.days_to_reserve <= URGENT_DAYS else "store_filling"
        return Finding(code, {"path": self.path, "days": int(self.days_to_reserve),
                              "per_day_gb": round(self.per_day_bytes / GB, 1), "why": why[0], "why_zh": why[1]})

    def as_dict(self) -> dict:
        return asdict(self)


def recent_forecast(app: App) -> StoreForecast:
    """The forecast for pages and scrapes polled every few seconds (/healthz, /metrics, the
    dashboard): computed at most once every FRESH_S per app, since it sums a dock's recordings
    and the intake it measures moves over days, not seconds."""
    now = time.monotonic()
    with _lock:
        kept = _recent.get(id(app))
        if kept is not None and kept[0] is app and now - kept[1] < FRESH_S:
            return kept[2]
    made = forecast(app)
    with _lock:
        _recent[id(app)] = (app, now, made)
    return made


def forecast(app: App, now: datetime | None = None) -> StoreForecast:
    now = now or app.clock.now()
    cfg = app.settings
    st = os.statvfs(app.store.root)
    total, free = st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize
    reserve = cfg.ingest.reserve_mb << 20
    here = DockSession.dock == cfg.dock_name
    live = Recording.status != RecordingStatus.DELETED
    with app.db.reading() as s:
        mine = (select(Recording.size, Recording.ingested_at, Eviction.recording_id.label("gone"))
                .join(DockSession, DockSession.id == Recording.dock_session_id)
                .outerjoin(Eviction, Eviction.recording_id == Recording.id).where(here, live).subquery())
        local_n, local_b = s.execute(select(func.count(), func.coalesce(func.sum(mine.c.size), 0))
                                     .where(mine.c.gone.is_(None))).one()
        bucket_n, bucket_b = s.execute(select(func.count(), func.coalesce(func.sum(mine.c.size), 0))
                                       .where(mine.c.gone.is_not(None))).one()
        past = s.execute(select(func.coalesce(func.sum(mine.c.size), 0)).where(
            mine.c.gone.is_(None), mine.c.ingested_at < now - timedelta(days=cfg.store.keep_local_days))).scalar()
        intake, first = s.execute(select(func.coalesce(func.sum(Recording.size), 0), func.min(Recording.ingested_at))
                                  .join(DockSession, DockSession.id == Recording.dock_session_id)
                                  .where(here, Recording.ingested_at >= now - WINDOW)).one()
    if first is not None and first.tzinfo is None:
        first = first.replace(tzinfo=now.tzinfo)
    # PostgreSQL sums to Decimal: plain integers from here on.
    local_b, bucket_b, past, intake = int(local_b), int(bucket_b), int(past), int(intake)
    # A dock younger than the window is measured over the days it has run (at least one).
    days = max(1.0, min(WINDOW.total_seconds(), (now - first).total_seconds()) / 86400) if first else 30.0
    per_day = int(intake / days)
    eviction = cfg.replica.enabled
    room = free - reserve
    steady = False
    if eviction:
        keep_below = total * (1 - cfg.store.free_target_pct / 100)
        steady = per_day * cfg.store.keep_local_days + (total - free - local_b) <= keep_below
        room += int(past)
    days_left = None if steady or per_day <= 0 else max(0.0, room / per_day)
    return StoreForecast(str(app.store.root), total, free, reserve, local_n, int(local_b), bucket_n, int(bucket_b),
                         int(past), per_day, eviction, cfg.store.keep_local_days, steady,
                         None if days_left is None else round(days_left, 1))
