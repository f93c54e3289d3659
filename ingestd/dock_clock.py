"""Is this dock's own clock right? Every upload time (入库时间) a dock stamps, and so every
late or on-time it leads to, stands on it: a dock a year fast calls every recording late,
a year slow moves every deadline a year early, and nothing else would say so.

A dock compares its clock with what it can reach: the database server's clock where the
database is PostgreSQL (`now()`, the round trip halved), else the cameras docked here in
the last day — when at least three cameras all disagree with the dock the same way, it is
the dock's clock that is off, not theirs. A clock off by more than MAX_OFFSET_S opens one
`dock_clock_off` incident for the dock (alerted like any incident) until a person closes it."""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from ingestd.db.models import DockSession, Incident
from ingestd.db.states import IncidentStatus
from ingestd.findings import Finding
from ingestd.logs import event

if TYPE_CHECKING:
    from ingestd.app import App

log = logging.getLogger("ingestd.dock_clock")
MAX_OFFSET_S = 300.0  # beyond this a deadline counted from the dock's time is not to be trusted
CAMERA_WITNESSES = 3  # cameras that must agree before their clocks outvote the dock's
CAMERA_WINDOW = timedelta(days=1)
AGAINST = {"database": ("database server's clock", "数据库服务器"), "cameras": ("clocks of the cameras docked here",
                                                                            "近一天接入的记录仪")}


@dataclass(frozen=True)
class ClockReading:
    against: str  # "database" | "cameras"
    offset_s: float  # the dock's clock minus the reference: positive when the dock is fast
    witnesses: int  # 1 for the database server, else the cameras that agreed

    @property
    def off(self) -> bool:
        return abs(self.offset_s) > MAX_OFFSET_S


def database_reading(app: App) -> ClockReading | None:
    if app.db.is_sqlite:
        return None  # the same machine's clock: no second opinion
    with app.db.reading() as s:
        before = app.clock.now()
        server = s.execute(select(func.now())).scalar_one()
        after = app.clock.now()
    return ClockReading("database", ((before + (after - before) / 2) - server).total_seconds(), 1)


def camera_reading(app: App) -> ClockReading | None:
    """What the cameras' clocks, read when they were docked here, say of the dock's."""
    since = app.clock.now() - CAMERA_WINDOW
    with app.db.reading() as s:
        rows = s.execute(select(DockSession.device_id, DockSession.host_clock_at, DockSession.camera_clock_at)
                         .where(DockSession.dock == app.settings.dock_name, DockSession.started_at >= since,
                                DockSession.camera_clock_at.is_not(None), DockSession.device_id.is_not(None))).all()
    by_camera: dict[int, float] = {}
    for device_id, host_at, camera_at in rows:
        by_camera[device_id] = (host_at - camera_at).total_seconds()  # the latest reading per camera wins
    if len(by_camera) < CAMERA_WITNESSES:
        return None
    offsets = list(by_camera.values())
    if not (all(o > MAX_OFFSET_S for o in offsets) or all(o < -MAX_OFFSET_S for o in offsets)):
        return None  # cameras that disagree among themselves say nothing of the dock
    if max(offsets) - min(offsets) > MAX_OFFSET_S:
        return None
    return ClockReading("cameras", statistics.median(offsets), len(offsets))


def reading_of(app: App) -> ClockReading | None:
    """The dock's clock against the best reference there is, read now."""
    return database_reading(app) or camera_reading(app)


def off_finding(app: App, reading: ClockReading | None) -> Finding | None:
    """`dock_clock_off` when the reading says the dock's clock cannot be trusted."""
    if reading is None or not reading.off:
        return None
    offset, offset_zh = offset_texts(reading.offset_s)
    return Finding("dock_clock_off", {
        "dock": app.settings.dock_name, "offset": offset, "offset_zh": offset_zh,
        "offset_s": round(reading.offset_s, 1), "against": AGAINST[reading.against][0],
        "against_zh": AGAINST[reading.against][1], "witnesses": reading.witnesses})


def check(app: App) -> ClockReading | None:
    """Read the dock's clock; open the incident when it is off and none is open for this dock."""
    reading = reading_of(app)
    finding = off_finding(app, reading)
    if finding is None:
        return reading
    facts = finding.detail
    dock = app.settings.dock_name
    with app.changes.begin("ingestd") as ch:
        open_ones = ch.session.execute(select(Incident.facts).where(
            Incident.code == "dock_clock_off", Incident.status == IncidentStatus.OPEN)).scalars().all()
        if any((f or {}).get("dock") == dock for f in open_ones):
            return reading
        incident = Incident(code="dock_clock_off", detail=finding.message, facts=facts,
                            opened_at=app.clock.now(), status=IncidentStatus.OPEN)
        ch.session.add(incident)
        ch.session.flush()
        ch.record("incident.opened", "incident", str(incident.id), code="dock_clock_off", **facts)
    event(log, logging.ERROR, "dock.clock_off", **facts)
    return reading


def offset_texts(seconds: float) -> tuple[str, str]:
    """How far off, as people say it, in English and Chinese: "365 d fast", "快 365 天"."""
    size = abs(seconds)
    for en, zh, per in (("d", "天", 86400), ("h", "小时", 3600), ("min", "分钟", 60), ("s", "秒", 1)):
        if size >= per or per == 1:
            n = f"{size / per:.0f}"
            break
    fast = seconds > 0
    return f"{n} {en} {'fast' if fast else 'slow'}", f"{'快' if fast else '慢'} {n} {zh}"


STEP_S = 60.0  # a slewing time sync moves the clock by milliseconds; a minute at once is a step
STEPPED_ACTION = "dock.clock_stepped"


class StepWatch:
    """Notices the wall clock jumping under the running daemon: the wall clock minus the
    monotonic one, which a step leaves alone, moves by the step. Time sync's first correction
    at boot happens before the daemon starts and is not seen; a step while it runs is one an
    admin should know of, since upload times stamped around it may be off."""

    def __init__(self, app: App):
        self.app = app
        self._base = self._gap()

    def _gap(self) -> float:
        return self.app.clock.now().timestamp() - time.monotonic()

    def observe(self) -> float | None:
        """The step since the last look, in seconds (positive: forward), recorded; else None."""
        gap = self._gap()
        step, self._base = gap - self._base, gap
        if abs(step) < STEP_S:
            return None
        facts = {"dock": self.app.settings.dock_name, "step_s": round(step, 1)}
        event(log, logging.WARNING, "dock.clock_stepped", **facts)
        with self.app.changes.begin("ingestd") as ch:
            ch.record(STEPPED_ACTION, "dock", self.app.settings.dock_name, **facts)
        return step
