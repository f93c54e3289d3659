"""Roster import (CSV UTF-8-BOM and GB18030, XLSX, Chinese and English headers, bad rows)
and the statuses it drives, moved through time with an injected clock."""

from __future__ import annotations

import csv
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from ingestd.compliance.recompute import recompute_recent
from ingestd.compliance.roster import read_roster
from ingestd.afterdock import import_roster
from ingestd.clock import FixedClock
from ingestd.db.models import Device, Officer, RecordingCompliance, Shift
from ingestd.afterdock import ingest
from tests.conftest import copy_clip, make_dock

TZ = ZoneInfo("Asia/Shanghai")
ZH = ["日期", "警号", "姓名", "执法证号", "执法队", "班次开始", "班次结束", "任务类型", "返回单位时间", "执法记录仪编号"]
EN = ["date", "badge", "name", "cert_no", "team", "shift_start", "shift_end", "assignment", "returned_at", "camera"]
ROWS = [
    ["2026-11-20", "012345", "张三", "湘A001", "一中队", "08:00", "18:00", "常规", "", "CAM-A"],
    ["2026-11-20", "067890", "李四", "湘A002", "二中队", "08:00", "20:00", "异地执法", "2026-11-23 09:00", "CAM-B"],
    ["2026-11-20", "011111", "王五", "湘A003", "一中队", "08:00", "18:00", "常规", "", "CAM-C"],
    ["2026-11-20", "022222", "赵六", "湘A004", "二中队", "22:00", "06:00", "连续工作", "", "CAM-D"],
]


def write_csv(path, header, rows, encoding):
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def write_xlsx(path, header, rows, numeric_badges=False):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:  # real date and time cells, as Excel users produce them
        day = datetime.strptime(r[0], "%Y-%m-%d")
        cells = [day, int(r[1]) if numeric_badges else r[1], *r[2:5], time.fromisoformat(r[5]), time.fromisoformat(r[6]), r[7],
                 datetime.fromisoformat(r[8]) if r[8] else None, r[9]]
        ws.append(cells)
    wb.save(path)
    return path


@pytest.mark.parametrize("make", [
    lambda p: write_csv(p / "r.csv", ZH, ROWS, "utf-8-sig"),
    lambda p: write_csv(p / "r.csv", ZH, ROWS, "gb18030"),
    lambda p: write_csv(p / "r.csv", EN, ROWS, "utf-8"),
    lambda p: write_xlsx(p / "r.xlsx", ZH, ROWS),
], ids=["csv-utf8-bom", "csv-gb18030", "csv-english", "xlsx-chinese"])
def test_roster_formats_read_the_same(tmp_path, make):
    roster = read_roster(make(tmp_path), TZ)
    assert [(r.badge, r.name, r.team, r.assignment, r.camera) for r in roster.rows] == [
        ("012345", "张三", "一中队", "regular", "CAM-A"), ("067890", "李四", "二中队", "offsite", "CAM-B"),
        ("011111", "王五", "一中队", "regular", "CAM-C"), ("022222", "赵六", "二中队", "continuous", "CAM-D")]
    night = roster.rows[3]
    assert night.start == datetime(2026, 11, 20, 22, tzinfo=TZ) and night.end == datetime(2026, 11, 21, 6, tzinfo=TZ)
    assert roster.rows[1].returned_at == datetime(2026, 11, 23, 9, tzinfo=TZ)


def test_badge_stored_as_a_number_is_refused(tmp_path):
    from ingestd.errors import UserError

    with pytest.raises(UserError, match="row 2, column 警号: 12345 is a number in the spreadsheet"):
        read_roster(write_xlsx(tmp_path / "r.xlsx", ZH, ROWS, numeric_badges=True), TZ)


@pytest.mark.parametrize("change, message", [
    (lambda rows: rows[1].__setitem__(0, "2026-13-01"), "row 3, column 日期: '2026-13-01' is not a date"),
    (lambda rows: rows[0].__setitem__(5, "8点"), "row 2, column 班次开始: '8点' is not a time"),
    (lambda rows: rows[2].__setitem__(7, "出差"), "row 4, column 任务类型: '出差' is not one of"),
    (lambda rows: rows[3].__setitem__(1, ""), "row 5, column 警号: empty"),
    (lambda rows: rows.append(["2026-11-20", "012345", "张三", "", "一中队", "17:00", "19:00", "常规", "", ""]),
     "row 6, column 班次开始: overlaps the shift in row 2"),
])
def test_bad_rows_are_named_and_nothing_is_imported(tmp_path, change, message):
    rows = [list(r) for r in ROWS]
    change(rows)
    dock = make_dock(tmp_path)
    path = write_csv(tmp_path / "排班.csv", ZH, rows, "utf-8-sig")
    proc = dock.cli("roster", "import", "--by", "admin", str(path), check=2)
    assert message in proc.stderr and "nothing was imported" in proc.stderr
    with dock.app().db.reading() as s:
        assert s.execute(select(func.count()).select_from(Shift)).scalar() == 0
        assert s.execute(select(func.count()).select_from(Officer)).scalar() == 0


@pytest.mark.parametrize("header, message", [
    (ZH[:4] + ZH[5:], None),  # 执法队 is optional
    (["日期", "警号", "姓名", "班次开始"], "missing column 班次结束/shift_end"),
    (ZH[:9] + ["颜色"], "unknown column '颜色'"),
])
def test_header_problems(tmp_path, header, message):
    rows = [r[:4] + r[5:] for r in ROWS] if message is None else [r[:len(header)] for r in ROWS]
    path = write_csv(tmp_path / "r.csv", header, rows, "utf-8")
    if message is None:
        assert len(read_roster(path, TZ).rows) == 4
    else:
        from ingestd.errors import UserError
        with pytest.raises(UserError, match=message):
            read_roster(path, TZ)


def test_reimport_replaces_the_period_for_the_files_teams_only(tmp_path):
    dock = make_dock(tmp_path)
    dock.cli("roster", "import", "--by", "admin", str(write_csv(tmp_path / "all.csv", ZH, ROWS, "utf-8-sig")))
    team_one = [r for r in ROWS if r[4] == "一中队"][:1]  # 一中队 now only has 张三 that day
    out = dock.cli_json("roster", "import", "--by", "admin", str(write_csv(tmp_path / "one.csv", ZH, team_one, "utf-8-sig")))
    assert out["replaced"] == 2 and out["shifts"] == 1
    with dock.app().db.reading() as s:
        assert sorted(s.execute(select(Shift.badge)).scalars()) == ["012345", "022222", "067890"]


@pytest.fixture
def unit(tmp_path, clips):
    """A unit on guanxian-liulin (24 h, 002 第16条) with the roster above."""
    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    clock = FixedClock(datetime(2026, 11, 20, 12, tzinfo=TZ))
    app = dock.app(clock)
    import_roster(app, read_roster(write_csv(tmp_path / "r.csv", ZH, ROWS, "utf-8-sig"), TZ), "admin")
    return dock, app, clock, clips, tmp_path


def _dock_camera(app, tmp, clips, serial, files: dict[str, str]):
    """Dock a camera holding {file name: clip} (each clip's bytes are distinct)."""
    cam = tmp / f"cam-{serial}-{len(list(tmp.iterdir()))}"
    cam.mkdir()
    for name, clip in files.items():
        copy_clip(clips[clip], cam / name)
    return ingest(app, [cam], None, serial)


def _status(app):
    with app.db.reading() as s:
        recs = {(c.officer_badge, c.upload_status, c.off_duty, c.late_by_s, c.deadline.astimezone(TZ).isoformat()
                 if c.deadline else None) for c in s.execute(select(RecordingCompliance)).scalars()}
        shifts = dict(s.execute(select(Shift.camera, Shift.status)).all())
    return recs, shifts


def test_statuses_move_with_time_and_docks(unit):
    dock, app, clock, clips, tmp = unit
    _, shifts = _status(app)
    assert set(shifts.values()) == {"pending"}

    # 21 Nov 09:00: CAM-A docks with a clip from 10:00 the day before: on time (deadline 21 Nov 10:00:02).
    clock.at = datetime(2026, 11, 21, 9, tzinfo=TZ)
    _dock_camera(app, tmp, clips, "CAM-A", {"20261120_100000.mp4": "h264"})
    recs, shifts = _status(app)
    assert recs == {("012345", "on_time", False, None, "2026-11-21T10:00:02+08:00")}
    assert shifts["CAM-A"] == "met" and shifts["CAM-C"] == "pending"

    # 21 Nov 18:00:00 exactly: CAM-C's shift ended 18:00 the day before; not yet overdue.
    clock.at = datetime(2026, 11, 21, 18, tzinfo=TZ)
    recompute_recent(app)
    assert _status(app)[1]["CAM-C"] == "pending"
    clock.at += timedelta(seconds=1)  # the rules' worked example: late at 18:00:01
    recompute_recent(app)
    assert _status(app)[1]["CAM-C"] == "overdue"

    # CAM-A docks again at 21 Nov 20:00 with a clip from 17:00 the day before: late by 2:59:58.
    clock.at = datetime(2026, 11, 21, 20, tzinfo=TZ)
    _dock_camera(app, tmp, clips, "CAM-A", {"20261120_170000.mp4": "h264_b"})
    recs, shifts = _status(app)
    assert ("012345", "late", False, 3 * 3600 - 2, "2026-11-21T17:00:02+08:00") in recs
    assert shifts["CAM-A"] == "late"

    # CAM-B was rostered 异地执法 and returned 23 Nov 09:00: on time until 24 Nov 09:00.
    clock.at = datetime(2026, 11, 24, 8, 59, tzinfo=TZ)
    _dock_camera(app, tmp, clips, "CAM-B", {"20261120_160000.mp4": "h264_c"})
    recs, shifts = _status(app)
    assert ("067890", "on_time", False, None, "2026-11-24T09:00:00+08:00") in recs
    assert shifts["CAM-B"] == "met"
    with app.db.reading() as s:
        rule = s.execute(select(RecordingCompliance.deadline_rule).where(RecordingCompliance.officer_badge == "067890")).scalar()
    assert rule == "return_exception"


def test_no_recording_and_off_duty(unit):
    dock, app, clock, clips, tmp = unit
    # CAM-D's night shift (22:00-06:00, 连续工作 with no return time) ends 21 Nov 06:00; it
    # docks at 08:00 holding nothing from the shift: for review, not overdue.
    clock.at = datetime(2026, 11, 21, 8, tzinfo=TZ)
    _dock_camera(app, tmp, clips, "CAM-D", {})
    assert _status(app)[1]["CAM-D"] == "no_recording"

    # CAM-D is registered to 赵六; a clip at noon, outside his night shift, is off duty (002 第21条(六)).
    with app.changes.begin("admin") as ch:
        ch.session.execute(update(Device).where(Device.serial == "CAM-D").values(owner_badge="022222"))
        ch.record("device.owner_set", "device", "CAM-D", owner="022222")
    _dock_camera(app, tmp, clips, "CAM-D", {"20261120_120000.mp4": "hevc"})  # noon: 赵六 was not on duty
    recs, _ = _status(app)
    assert ("022222", "on_time", True, None, "2026-11-21T12:00:02+08:00") in recs
    listed = dock.cli_json("recordings", "list")
    assert listed[0]["officer"] == "022222" and listed[0]["off_duty"] is True
    assert listed[0]["team"] == "二中队" and listed[0]["upload_status"] == "on_time"
    assert listed[0]["deadline"] == "2026-11-21T12:00:02+08:00" and listed[0]["deadline_article"] == "002 第16条"


def test_recording_outside_any_roster_is_not_off_duty(unit):
    dock, app, clock, clips, tmp = unit
    clock.at = datetime(2026, 11, 26, 9, tzinfo=TZ)
    _dock_camera(app, tmp, clips, "CAM-A", {"20261125_100000.mp4": "h264"})  # 25 Nov: no roster covers it
    recs, _ = _status(app)
    assert recs == {(None, "on_time", False, None, "2026-11-26T10:00:02+08:00")}


def test_scheduled_sweep_is_registered_and_turns_pending_overdue(unit):
    from ingestd.schedule import build_scheduler, compliance_sweep

    dock, app, clock, clips, tmp = unit
    scheduler = build_scheduler(app)
    job = scheduler.get_job("compliance-sweep")
    assert job is not None and job.trigger.interval.total_seconds() == 5 * 60
    clock.at = datetime(2026, 11, 21, 18, 0, 1, tzinfo=TZ)
    result = compliance_sweep(app)  # what the scheduler runs; no waiting for real time
    assert result["shift_status"] == {"overdue": 2, "pending": 2}
    shifts = _status(app)[1]
    assert shifts["CAM-A"] == shifts["CAM-C"] == "overdue"  # regular, ended 20 Nov 18:00
    assert shifts["CAM-B"] == "pending"  # 异地执法, returned 23 Nov 09:00: due 24 Nov 09:00
    assert shifts["CAM-D"] == "pending"  # night shift ended 21 Nov 06:00: due 22 Nov 06:00
